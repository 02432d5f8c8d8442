#!/usr/bin/env bash
# make wheel: a portable Linux abi3 wheel (manylinux_2_28) built on Debian 12, for the machine's
# architecture or the one ARCH names (x86_64, aarch64: cross-built here, the same way).
#
# How the older glibc is reached: zig (ziglang from PyPI) is the C compiler and linker, and it
# links against its own glibc 2.28 stubs instead of the build machine's glibc 2.36, so nothing
# can bind a symbol version newer than 2.28. maturin drives it for the extension (--zig) and
# cargo-zigbuild (the same tool, as a cargo subcommand) for the device plugin, which maturin
# cannot build because it is a plain C-ABI library. No chroot, no Docker, nothing by hand.
#
# C libraries are linked statically. Those a crate builds from source are compiled by zig:
# libopus (the opus crate, cmake) and Cisco's OpenH264 (the openh264 crate's `source` feature,
# C++ and nasm), whose C++ runtime is zig's own libc++, linked in statically, so the wheel needs
# no libstdc++ at all. libvpx and libaom are built here from Debian's sources as encoder-only,
# real-time-only libraries (codec_libs.sh: the full ones Debian ships were a third of the
# wheel). libvo-aacenc is Debian's own static archive (.a from the -dev package, PIC, no symbol
# newer than glibc 2.28 is referenced), staged with a pkg-config file of its own. To add one
# such archive, add one line to STATIC_LIBS below.
#
# libasound and libpipewire are the libraries the wheel needs but does not carry: only the
# device plugin links libasound and only the screen-cast plugin libpipewire, each loaded on
# first use, and the check (check.py) allows each in its plugin and nowhere else.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The venv, absolute or relative to the project (where make runs): made absolute once here, as
# the build tools below run from / (see ROOT).
VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
PY=$VENV/bin/python
OUT=${WHEEL_DIR:-target/wheels/dist}
POLICY=manylinux_2_28
ARCH=${ARCH:-$(uname -m)}
case "$ARCH" in x86_64 | aarch64) ;; arm64) ARCH=aarch64 ;; *)
    echo "wheel: no Linux recipe for ARCH=$ARCH (x86_64, aarch64)" >&2; exit 1 ;;
esac
RUST_TARGET=$ARCH-unknown-linux-gnu
# One stage per architecture (x86_64 keeps the folder it always had, so its cache stays valid).
STAGE=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/static
[ "$ARCH" = x86_64 ] || STAGE=$STAGE-$ARCH
# A cross build takes the target's Debian packages from codec_libs.sh's sysroot, not from the
# build machine's installed ones; pkg-config is allowed to answer for another target then.
SYSROOT=
if [ "$ARCH" != "$(uname -m)" ]; then
    SYSROOT=$STAGE/sysroot
    export PKG_CONFIG_ALLOW_CROSS=1
    rustup target list --installed | grep -qx "$RUST_TARGET" || rustup target add "$RUST_TARGET"
fi

# Debian's static archives, one line each: "<pkg-config name> <Debian -dev package>".
STATIC_LIBS=(
    "vo-aacenc libvo-aacenc-dev"
)
# Built from source by codec_libs.sh, each in $STAGE/<name> with its own .pc file.
SOURCE_LIBS=(vpx aom)
# Shared system libraries linked but never bundled, "<pkg-config name> <library name> <plugin>":
# each is linked by one plugin only, and check.py allows it there and nowhere else. A - for the
# library: headers only (SPA's, which libpipewire's .pc requires).
SYSTEM_LIBS=(
    "alsa asound.so.2 mediarecorder_devices"
    "libpipewire-0.3 pipewire-0.3.so.0 mediarecorder_screencast"
    "libspa-0.2 - mediarecorder_screencast"
)
PLUGINS=(mediarecorder_devices mediarecorder_screencast)
PACKAGES=()
for plugin in "${PLUGINS[@]}"; do PACKAGES+=(-p "${plugin//_/-}"); done

export PATH="$VENV/bin:$PATH"
# A wheel is built once and downloaded many times: whole-program LTO in one codegen unit, which
# `make build` (thin, 4 units) skips for its build time. It takes the screen-cast plugin from
# 2.85 to 1.91 MB and the extension from 16.77 to 15.31 MB (docs/wheels.md, "Size").
export CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
mkdir -p "$STAGE/lib/pkgconfig" "$STAGE/shared/pkgconfig"
bash scripts/wheel/codec_libs.sh "$STAGE" "$ARCH"

# The -sys crate must be told "static" by the environment: <NAME>_STATIC=1 (pkg-config-rs) and
# SYSTEM_DEPS_<NAME>_LINK=static (system-deps) are both set.
link_static() {
    local env_name
    env_name=$(tr 'a-z.-' 'A-Z__' <<<"$1")
    export "${env_name}_STATIC=1" "SYSTEM_DEPS_${env_name}_LINK=static"
}
PKG_CONFIG_PATH=$STAGE/lib/pkgconfig:$STAGE/shared/pkgconfig
for name in "${SOURCE_LIBS[@]}"; do
    link_static "$name"
    PKG_CONFIG_PATH=$STAGE/$name/lib/pkgconfig:$PKG_CONFIG_PATH
done
export PKG_CONFIG_PATH

# Copies a library's .pc with its libdir pointing at the staging folder, where only the named
# library is: the linker then cannot pick up anything else of the build machine's.
# pc_file <name>: the build machine's .pc of an installed package, or the sysroot's.
pc_file() {
    if [ -n "$SYSROOT" ]; then
        echo "$SYSROOT/usr/lib/$ARCH-linux-gnu/pkgconfig/$1.pc"
    else
        # The system's own: the stage, first on PKG_CONFIG_PATH, holds the copy made from it,
        # which sed would otherwise read while truncating it (an empty .pc: AAC linked shared).
        echo "$(PKG_CONFIG_PATH= pkg-config --variable=pcfiledir "$1")/$1.pc"
    fi
}
# A cross build's headers are the sysroot's: its prefix is moved there (libdir is the stage's).
stage_pc() {
    local name=$1 dir=$2
    sed -e "s|^libdir=.*|libdir=$dir|" -e "s|^prefix=/usr\$|prefix=$SYSROOT/usr|" \
        "$(pc_file "$name")" >"$dir/pkgconfig/$name.pc"
}
# pkg_file <Debian package> <library file>: where that package put that file.
pkg_file() {
    if [ -n "$SYSROOT" ]; then
        find "$SYSROOT/usr/lib/$ARCH-linux-gnu" -name "$2" | head -n 1
    else
        dpkg -L "$1" | grep -E "/$2\$" | head -n 1
    fi
}

for entry in "${STATIC_LIBS[@]}"; do
    read -r name pkg <<<"$entry"
    archive=$(pkg_file "$pkg" "lib$name.a")
    [ -n "$archive" ] || { echo "wheel: $pkg has no lib$name.a" >&2; exit 1; }
    cp -u "$archive" "$STAGE/lib/"
    stage_pc "$name" "$STAGE/lib"
    link_static "$name"
done
ALLOW=()
for entry in "${SYSTEM_LIBS[@]}"; do
    read -r name lib plugin <<<"$entry"
    if [ "$lib" != - ]; then
        ln -sf "$(readlink -f "$(dirname "$(pc_file "$name")")/../lib${lib%%.so*}.so")" \
            "$STAGE/shared/lib${lib%%.so*}.so"
        ALLOW+=(--allow "lib$lib=lib$plugin.so")
    fi
    stage_pc "$name" "$STAGE/shared"
done

# bindgen (v4l's V4L2 bindings, aom-sys) parses headers with the build machine's libclang, but
# maturin --zig / cargo-zigbuild hand it zig's own include list (-nostdinc, then zig's glibc 2.28
# and Linux headers, linux/videodev2.h among them), so the bindings match the target, not glibc
# 2.36; libaom's headers come from its staged build through pkg-config. zig prints its include
# directories relative to the working directory when they lie below it (the venv is inside the
# project), and build scripts run in their crate's folder, where the relative paths lead
# nowhere: every header is "not found". So both tools run from /.
ROOT=$PWD
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# The plugins (devices/, screencast/), next to the extension inside the package. They have a
# target folder of their own: cargo-zigbuild (pip's) and maturin's built-in copy of it are
# different versions with different linker wrapper paths, which cargo counts in the host build
# scripts' fingerprints.
# In one folder each build threw away the other's, and every run rebuilt aws-lc, OpenH264 and
# the rest (7 minutes for a build with nothing changed).
(cd / && CARGO_TARGET_DIR=$TARGET_DIR/wheel-plugin cargo zigbuild --release --quiet \
    --manifest-path "$ROOT/Cargo.toml" "${PACKAGES[@]}" --target "$RUST_TARGET.2.28")
# The package folder's own plugins are the development build's (make build): a cross build's
# take their place for the wheel only and are put back after.
put_back=()
for plugin in "${PLUGINS[@]}"; do
    file=lib$plugin.so
    if [ -n "$SYSROOT" ] && [ -f "python/mediarecorder/$file" ]; then
        cp "python/mediarecorder/$file" "$TARGET_DIR/wheel-plugin/host-$file"
        put_back+=("mv '$TARGET_DIR/wheel-plugin/host-$file' '$ROOT/python/mediarecorder/$file'")
    fi
done
if [ ${#put_back[@]} -gt 0 ]; then
    trap "$(IFS=';'; echo "${put_back[*]}")" EXIT
fi
for plugin in "${PLUGINS[@]}"; do
    cp "$TARGET_DIR/wheel-plugin/$RUST_TARGET/release/lib$plugin.so" python/mediarecorder/
done

# Only this architecture's wheel is replaced: the other's may be waiting for make wheel-test.
mkdir -p "$OUT" && rm -f "$OUT"/mediarecorder-*_"$ARCH".whl
(cd / && maturin build --release --zig --manifest-path "$ROOT/Cargo.toml" --target "$RUST_TARGET" \
    --compression-level 9 \
    --compatibility "$POLICY" --out "$OUT")

"$PY" scripts/wheel/check.py --policy "$POLICY" --arch "$ARCH" "${ALLOW[@]}" \
    "$OUT"/mediarecorder-*_"$ARCH".whl
