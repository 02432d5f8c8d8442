# Sourced by the Windows scripts: a Wine prefix for running x86_64-pc-windows-gnu programs here
# (Debian's wine64), made once and cached in ~/.cache/mediarecorder-build/wine.
#   wine_prefix: makes the prefix (wineboot, 4-8 s) and exports WINEPREFIX, WINEDEBUG and cargo's
#     runner for the Windows target (cargo test runs each test program under wine).
# Wine 8.0 (Debian 12's) lacks bcryptprimitives.dll, whose ProcessPrng Rust's std (>= 1.78)
# imports: every Rust program would die at load ("bcryptprimitives.dll not found", status 53).
# A ten-line stand-in, built by mingw-w64 over RtlGenRandom (advapi32, which Wine has), is put
# into the prefix's system32. No X server is needed; Wine's winepulse reaches the PulseAudio
# server that XDG_RUNTIME_DIR leads to.
WINE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/wine

wine_prefix() {
    command -v wine >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null || {
        echo "wine: needs wine64 and gcc-mingw-w64-x86-64 (scripts/setup-test.sh)" >&2
        return 1
    }
    export WINEPREFIX=$WINE_DIR/prefix WINEDEBUG=-all
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
    local shim=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
    [ -f "$shim" ] && return 0
    mkdir -p "$WINE_DIR"
    wineboot -i >/dev/null 2>&1 && wineserver -w
    cat >"$WINE_DIR/bcp.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE p, SIZE_T n) {
    while (n) {
        ULONG k = n > 0x10000000 ? 0x10000000 : (ULONG)n;
        if (!RtlGenRandom(p, k)) return FALSE;
        p += k;
        n -= k;
    }
    return TRUE;
}
C
    printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n' >"$WINE_DIR/bcp.def"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$shim" "$WINE_DIR/bcp.c" "$WINE_DIR/bcp.def" -ladvapi32
}
