#!/usr/bin/env bash
# Everything `make lint` and `make test` need on a fresh Debian 12 machine (the README's test
# command, and .ci/run): the build set-up (scripts/setup.sh), then the test harness's extras.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Checks: ffmpeg (ffprobe). Device capture: a private PulseAudio server (pulseaudio, its utils and
# the ALSA plugin; ../shared/reference/ci-audio.md); libportaudio2 for sounddevice, the peer of the
# device benchmark. Independent clients of the recordings (tests/test_clients.py): mkvtoolnix,
# GStreamer (-good: matroska and vpx, -base: opus, -libav: H.264 and AAC, -base-apps:
# gst-discoverer-1.0), and Chromium, which Playwright drives (never `playwright install`).
# Screen capture: xvfb and libx11-6 (the test client paints through it), x11-xserver-utils
# (xrandr resizes the screen under a running capture). Cameras: vivid in a QEMU VM booting
# Debian's kernel with a busybox initramfs (qemu-system-x86, linux-image-amd64, busybox-static,
# cpio). make wheel-test: debootstrap builds the Debian roots the wheel is installed into;
# ARCH=aarch64: qemu-user-static and binfmt-support run the arm64 roots, and
# gcc- and g++-aarch64-linux-gnu cross-compile libvpx and libaom for the aarch64 wheel.
# make wheel-windows: mingw-w64's gcc and g++ (the x86_64-pc-windows-gnu target's C compilers);
# make wheel-windows-test: wine64 (and wine, its launcher) runs the programs, libpulse0 is what
# Wine's audio driver talks to PulseAudio with.
# Wayland screens (tests/wayland_session.py; ../shared/reference/ci-wayland.md): sway and swaybg
# (headless), xdg-desktop-portal and -wlr, pipewire and wireplumber, a session bus (dbus,
# dbus-bin), GStreamer's waylandsink (-bad) as the painting client, fuse3 (fusermount3, for the
# document portal's mount), util-linux (unshare: sway refuses to run as root). Not pipewire-alsa
# or pipewire-pulse: the device tests' ALSA default stays PulseAudio. System audio needs
# libpulse0 (libpulse-simple), which pulseaudio-utils brings.
# libopenh264-7 is Debian's build: tests/test_codecs.py checks that it is refused, not being Cisco's.
# espeak-ng: speech with known silences for the voice activity tests (tests/test_voice.py).
# gstreamer1.0-pipewire and python3-gi: the peer row of benchmarks/bench_wayland.py (GStreamer's
# pipewiresrc on a portal session that _portal_cast.py opens with PyGObject's D-Bus client).
PACKAGES=(ffmpeg libopenh264-7 espeak-ng
          pulseaudio pulseaudio-utils libasound2-plugins libportaudio2
          mkvtoolnix gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
          gstreamer1.0-plugins-base-apps gstreamer1.0-libav chromium
          xvfb libx11-6 x11-xserver-utils qemu-system-x86 linux-image-amd64 busybox-static cpio
          debootstrap qemu-user-static binfmt-support
          gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross
          gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine libpulse0
          sway swaybg xdg-desktop-portal xdg-desktop-portal-wlr pipewire wireplumber dbus dbus-bin
          gstreamer1.0-plugins-bad fuse3 util-linux gstreamer1.0-pipewire python3-gi)

SETUP_PIP_EXTRA="-r requirements-dev.txt" bash scripts/setup.sh

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-test: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup-test: done"
