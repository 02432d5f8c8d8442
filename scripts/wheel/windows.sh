#!/usr/bin/env bash
# make wheel-windows: a Windows x64 abi3 wheel (win_amd64), cross-built here for the
# x86_64-pc-windows-gnu target with Debian's mingw-w64, with every encoder inside and the device
# plugin (cpal's WASAPI host) next to the extension as mediarecorder_devices.dll.
#
# The C libraries are static, as in the Linux wheel: libvpx, libaom and libvo-aacenc built by
# codec_libs.sh (win64) from Debian's sources with mingw-w64's gcc, libopus and OpenH264 by their
# crates (the cc crate picks x86_64-w64-mingw32-gcc/g++ for this target on its own). `-static`
# at the link puts mingw's own runtime (libstdc++ for OpenH264's C++, libgcc, winpthread) inside
# the .pyd and the .dll too: they then need only DLLs every Windows has (check: objdump -p).
# pyo3 makes the import library of python3.dll itself (`generate-import-lib`): no Windows
# Python is needed to build. Needs what scripts/setup-test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
OUT=${WHEEL_DIR:-target/wheels/dist}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
TARGET=x86_64-pc-windows-gnu
STAGE=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/static-win64
export PATH="$VENV/bin:$PATH"

rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
bash scripts/wheel/codec_libs.sh "$STAGE" win64
# shellcheck source=scripts/wheel/windows_env.sh
source scripts/wheel/windows_env.sh
windows_env "$STAGE"

cargo build --release --target "$TARGET" -p mediarecorder-devices
# The package folder holds the development build's Linux plugins: they are kept out of this
# wheel and put back after; the DLL is there for this build only.
PKG=python/mediarecorder
DLL=$PKG/mediarecorder_devices.dll
HOST_PLUGINS=(libmediarecorder_devices.so libmediarecorder_screencast.so)
restore() {
    rm -f "$DLL"
    for f in "${HOST_PLUGINS[@]}"; do
        [ ! -f "$CARGO_TARGET_DIR/host-$f" ] || mv "$CARGO_TARGET_DIR/host-$f" "$PKG/$f"
    done
}
trap restore EXIT
for f in "${HOST_PLUGINS[@]}"; do
    [ ! -f "$PKG/$f" ] || mv "$PKG/$f" "$CARGO_TARGET_DIR/host-$f"
done
cp "$CARGO_TARGET_DIR/$TARGET/release/mediarecorder_devices.dll" "$DLL"

mkdir -p "$OUT" && rm -f "$OUT"/mediarecorder-*-win_amd64.whl
# maturin hands cargo rustflags of its own (CARGO_ENCODED_RUSTFLAGS), which take the place of
# windows_env's per-target ones: the extension's link gets them as its own rustc arguments.
# shellcheck disable=SC2086 # one argument per word
maturin build --release --target "$TARGET" -i python3.11 --features pyo3/generate-import-lib \
    --out "$OUT" -- $WINDOWS_LINK_ARGS
"$VENV/bin/python" scripts/wheel/check_windows.py "$OUT"/mediarecorder-*-win_amd64.whl
