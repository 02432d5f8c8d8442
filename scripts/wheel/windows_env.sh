# Sourced by windows.sh and windows_test.sh: the build environment of the x86_64-pc-windows-gnu
# target. windows_env <stage>: pkg-config sees the stage's Windows libraries only (never the build
# machine's Linux ones) and links them statically; the linker gets -static (see windows.sh).
windows_env() {
    local stage=$1 name env_name
    export PKG_CONFIG_ALLOW_CROSS=1
    # The libraries' .pc files, less libvpx's and libaom's -lpthread: the -sys crates would pass
    # it on as a dynamic library (winpthread's DLL); winpthread is linked statically below.
    local pc_dir=$stage/pkgconfig pc
    mkdir -p "$pc_dir"
    for name in vpx aom aacenc; do
        for pc in "$stage/$name"/lib/pkgconfig/*.pc; do
            sed -e 's/ -lpthread//g' "$pc" >"$pc_dir/$(basename "$pc")"
        done
    done
    export PKG_CONFIG_LIBDIR=$pc_dir PKG_CONFIG_PATH=
    for name in vpx aom vo-aacenc; do
        env_name=$(tr 'a-z.-' 'A-Z__' <<<"$name")
        export "${env_name}_STATIC=1" "SYSTEM_DEPS_${env_name}_LINK=static"
    done
    # mingw's runtime goes inside the .pyd and the .dll: -static alone is not enough, since
    # rustc puts -Wl,-Bdynamic before every library a crate names (the cc crate's -lstdc++ for
    # OpenH264), so cc names none (CXXSTDLIB empty) and the link ends with them static, in one
    # group with what they need (rustc links with -nodefaultlibs): libstdc++, libssp (libopus's
    # cmake build turns the stack protector on), winpthread, mingw's C runtime glue, libgcc's
    # win32 threads, msvcrt, advapi32 (libssp's random canary), kernel32. check_windows.py fails
    # a wheel that needs any of mingw's DLLs.
    export CXXSTDLIB_x86_64_pc_windows_gnu=
    local lib
    WINDOWS_LINK_ARGS="-C link-arg=-static -C link-arg=-Wl,-Bstatic -C link-arg=-Wl,--start-group"
    for lib in stdc++ ssp winpthread mingwex mingw32 gcc gcc_eh msvcrt advapi32 kernel32; do
        WINDOWS_LINK_ARGS+=" -C link-arg=-l$lib"
    done
    WINDOWS_LINK_ARGS+=" -C link-arg=-Wl,--end-group -C link-arg=-Wl,-Bdynamic"
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS=$WINDOWS_LINK_ARGS
    # A target folder of its own: host build scripts built with these variables would otherwise
    # be rebuilt by every Linux build and back.
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/windows}
}
