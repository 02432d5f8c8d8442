#!/usr/bin/env bash
# make wheel-test: installs the built wheel into minimal Debian roots and checks it there.
#   bullseye: Debian 11, Python 3.9, glibc 2.31, no libasound, no libpipewire: recording works,
#             device calls fail naming libasound2, a Wayland capture naming libpipewire;
#   bookworm: Debian 12, Python 3.11, libasound2, PulseAudio and libpipewire: also a device
#             recording, and the screen-cast plugin loads;
#   trixie:   Debian 13, Python 3.13, no libasound, no libpipewire (x86_64 only: the newest
#             CPython once).
# ARCH=aarch64 (make wheel-test ARCH=aarch64) tests the aarch64 wheel in arm64 Debian 11 and 12
# roots instead, every program in them run by qemu-user-static through binfmt_misc.
# In each: a fresh venv, `pip install` of the wheel, NumPy and PyAV, then
# tests/wheel/installed_wheel_check.py. NumPy's and PyAV's wheels for the root's Python are
# downloaded on the host (pip download, cached in ~/.cache/mediarecorder/wheelhouse) and
# installed offline inside: the roots need no network and no certificates of their own.
# The roots are built once and cached (scripts/wheel/chroots.sh). Needs root (chroot, mount).
set -euo pipefail
cd "$(dirname "$0")/../.."

WHEEL_DIR=${WHEEL_DIR:-target/wheels/dist}
ARCH=${ARCH:-$(uname -m)}
[ "$ARCH" != arm64 ] || ARCH=aarch64
# shellcheck source=scripts/wheel/roots.sh
source scripts/wheel/roots.sh
shopt -s nullglob
wheels=("$WHEEL_DIR"/mediarecorder-*-abi3-*_"$ARCH".whl)
if [ ${#wheels[@]} -ne 1 ]; then
    echo "wheel-test: expected one $ARCH wheel in $WHEEL_DIR (make wheel ARCH=$ARCH), found ${#wheels[@]}" >&2
    exit 1
fi
wheel=${wheels[0]}
if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null; then
    echo "wheel-test: SKIPPED: needs root and debootstrap (scripts/setup-test.sh installs it) to build the Debian roots"
    exit 0
fi

bash scripts/wheel/chroots.sh "$ROOTS" "$ARCH"

run_in() {
    local suite=$1 pyver=$2 flag=$3
    local root=$ROOTS/$suite$SUFFIX
    mount_in "$root" proc /proc
    mount_in "$root" /dev /dev
    fill_wheelhouse "$pyver"
    rm -rf "$root/opt/wheel-test" && mkdir -p "$root/opt/wheel-test"
    cp -r "$(house "$pyver")" "$root/opt/wheel-test/house"
    cp "$wheel" tests/wheel/installed_wheel_check.py "$root/opt/wheel-test/"
    local start=$SECONDS
    echo "wheel-test: $suite$SUFFIX ($flag)"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        /bin/sh -euc "
        cd /opt/wheel-test
        python3 -m venv venv
        venv/bin/pip install -q --disable-pip-version-check --no-index --find-links house \
            ./$(basename "$wheel") numpy av
        venv/bin/python -c 'import mediarecorder'
        venv/bin/python installed_wheel_check.py $flag
    "
    echo "wheel-test: $suite$SUFFIX passed in $((SECONDS - start)) s"
}

if [ "$ARCH" = aarch64 ]; then
    SUFFIX=-arm64
else
    SUFFIX=
fi
run_in bullseye 3.9 "--no-libasound --no-pipewire"
run_in bookworm 3.11 "--device --pipewire"
[ "$ARCH" != x86_64 ] || run_in trixie 3.13 "--no-libasound --no-pipewire"

# The wheel's screen-cast plugin (zig-built, glibc 2.28) against a real Wayland session: the
# headless sway, portal and PipeWire stack of tests/test_wayland.py on this machine, with the
# wheel's plugin in place of the development build's (MEDIARECORDER_SCREENCAST_PLUGIN). The
# roots above have no compositor; an arm64 plugin is only loaded there (--pipewire).
if [ "$ARCH" = "$(uname -m)" ]; then
    plugin_dir=$(mktemp -d)
    "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
        "$wheel" mediarecorder/libmediarecorder_screencast.so "$plugin_dir"
    echo "wheel-test: the wheel's screen-cast plugin in a headless Wayland session"
    MEDIARECORDER_SCREENCAST_PLUGIN=$plugin_dir/mediarecorder/libmediarecorder_screencast.so \
        "$PY" -m pytest -q -p no:cacheprovider tests/test_wayland.py
    rm -rf "$plugin_dir"
fi
