#!/usr/bin/env bash
# make macos-check: the core (with and without the Python binding) and the device plugin
# (cpal's CoreAudio host) type-checked and linted by clippy for aarch64-apple-darwin and
# x86_64-apple-darwin here, on Linux, without Apple's SDK.
#
# cargo-zigbuild runs cargo with zig as the C compiler: zig carries macOS's libc headers, so the
# C code the crates compile in their build scripts (libopus, OpenH264) and bindgen's parse of
# libaom's headers work for a Mac target. cpal's CoreAudio bindings are pure Rust (objc2-*).
# libvpx, libaom and libvo-aacenc are only looked up by pkg-config at this stage (their bindings
# are generated from, or shipped for, their headers, which are the same on every platform):
# the x86_64 wheel's staged libvpx and libaom answer (codec_libs.sh; the system's .pc would hand
# bindgen -I/usr/include, whose glibc headers break a Mac parse), libvo-aacenc's the system's
# (only probed). Nothing is linked by a check.
# What needs the SDK, and so runs in the release workflow only (.github/workflows/wheels.yml):
# linking anything (the extension, the plugin, test programs: CoreAudio, AudioToolbox,
# CoreFoundation and libSystem are the SDK's), hence every test and the wheel itself.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
export PATH="$VENV/bin:$PATH" PKG_CONFIG_ALLOW_CROSS=1
# pyo3 for a target it cannot run: the abi3 floor is all it needs to know.
export PYO3_CROSS_PYTHON_VERSION=3.9
ROOT=$PWD
STAGE=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/static
bash scripts/wheel/codec_libs.sh "$STAGE" x86_64
export PKG_CONFIG_PATH=$STAGE/vpx/lib/pkgconfig:$STAGE/aom/lib/pkgconfig
for target in aarch64-apple-darwin x86_64-apple-darwin; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
    start=$SECONDS
    # From / for the reason build.sh gives (zig's include paths are printed relative to it).
    (cd / && CARGO_TARGET_DIR=$ROOT/target/macos cargo-zigbuild clippy --release \
        --manifest-path "$ROOT/Cargo.toml" --target "$target" --all-targets -- -D warnings)
    (cd / && CARGO_TARGET_DIR=$ROOT/target/macos cargo-zigbuild clippy --release \
        --manifest-path "$ROOT/Cargo.toml" --target "$target" --no-default-features \
        --all-targets -- -D warnings)
    (cd / && CARGO_TARGET_DIR=$ROOT/target/macos cargo-zigbuild clippy --release \
        --manifest-path "$ROOT/Cargo.toml" --target "$target" -p mediarecorder-devices \
        --all-targets -- -D warnings)
    echo "macos-check: $target passed in $((SECONDS - start)) s"
done
