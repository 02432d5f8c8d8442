#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for mediarecorder: system packages (apt-get), the project's
# virtualenv (.venv) with its Python packages (pip), and the release build of the extension.
# Safe to run again: it installs only what is missing and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Build: cmake (the opus crate builds libopus), libasound2-dev (cpal), libvpx-dev (VP8/VP9),
# libclang-dev (bindgen generates the v4l crate's V4L2 bindings; nothing is linked).
# Checks: ffmpeg (ffprobe). Device capture in CI: pulseaudio, its utils and the ALSA plugin;
# libportaudio2 for sounddevice, the peer of the device benchmark. Independent clients of the
# recordings (tests/test_clients.py): mkvtoolnix, GStreamer (its -good plugins have matroska
# and vpx, -base has opus, -libav H.264 and AAC, -base-apps gst-discoverer-1.0), and Chromium,
# which Playwright drives (never `playwright install`). Screen capture tests: xvfb and libx11-6
# (the test client paints through it); camera tests: vivid in a QEMU VM booting Debian's kernel
# with a busybox initramfs (qemu-system-x86, linux-image-amd64, busybox-static, cpio).
# make wheel-test: debootstrap builds the Debian 11 and 12 roots the wheel is installed into.
# Encoders (issue 16): libaom-dev (AV1; libclang-dev for the bindgen of aom-sys), libvo-aacenc-dev
# (AAC-LC, Apache-2.0), nasm (the openh264 crate assembles Cisco's OpenH264 source with it),
# libopenh264-7 (Debian's build: tests/test_codecs.py checks that it is refused, not being Cisco's).
# x11-xserver-utils: xrandr, which resizes the Xvfb screen under a running capture (test_screen.py).
PACKAGES=(pkg-config cmake gcc g++ libasound2-dev libvpx-dev libclang-dev ffmpeg
          libaom-dev libvo-aacenc-dev nasm libopenh264-7
          pulseaudio pulseaudio-utils libasound2-plugins libportaudio2 python3-venv
          mkvtoolnix gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
          gstreamer1.0-plugins-base-apps gstreamer1.0-libav chromium
          xvfb libx11-6 x11-xserver-utils qemu-system-x86 linux-image-amd64 busybox-static cpio debootstrap)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found. Install Rust >= 1.85 (rustup) and run this again." >&2
    exit 1
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
make build 2>&1 | grep -v "^\s*$" | tail -n 2
echo "setup: done ($(.venv/bin/python -c 'import mediarecorder as m; print("mediarecorder", m.__version__)'))"
