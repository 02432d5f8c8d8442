# Sourced by windows.sh and windows_test.sh: the build environment of the x86_64-pc-windows-gnu
# target. windows_env <stage>: pkg-config sees the stage's Windows libraries only (never the build
# machine's Linux ones) and links them statically; the linker gets -static (see windows.sh).
windows_env() {
    local stage=$1 name env_name
    export PKG_CONFIG_ALLOW_CROSS=1
    PKG_CONFIG_LIBDIR=
    for name in vpx aom aacenc; do
        PKG_CONFIG_LIBDIR=$stage/$name/lib/pkgconfig${PKG_CONFIG_LIBDIR:+:$PKG_CONFIG_LIBDIR}
    done
    export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH=
    for name in vpx aom vo-aacenc; do
        env_name=$(tr 'a-z.-' 'A-Z__' <<<"$name")
        export "${env_name}_STATIC=1" "SYSTEM_DEPS_${env_name}_LINK=static"
    done
    # libssp: libopus's cmake build turns the stack protector on.
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="-C link-arg=-static -C link-arg=-lssp"
    # A target folder of its own: host build scripts built with these variables would otherwise
    # be rebuilt by every Linux build and back.
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/windows}
}
