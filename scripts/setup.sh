#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine to build and run mediarecorder (the README's demo command):
# system packages (apt-get), the project's virtualenv (.venv) with maturin and NumPy (pip), and the
# release build of the extension. scripts/setup-test.sh adds what the tests need.
# Safe to run again: it installs only what is missing and rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Building and running (the demo's set-up): cmake (the opus crate builds libopus), libasound2-dev
# (cpal, for the device plugin), libvpx-dev (VP8/VP9), libaom-dev (AV1), libvo-aacenc-dev (AAC-LC,
# Apache-2.0), nasm (the openh264 crate assembles Cisco's OpenH264 source), libclang-dev (bindgen:
# the v4l crate's V4L2 bindings, aom-sys and the PipeWire bindings; nothing is linked),
# libpipewire-0.3-dev (the screen-cast plugin; libpipewire is loaded with it, at the first
# Wayland capture). The test harness's extras
# (PulseAudio, Xvfb, Chromium, the camera VM, Debian roots, ...) are in scripts/setup-test.sh.
PACKAGES=(pkg-config cmake gcc g++ libasound2-dev libvpx-dev libclang-dev
          libaom-dev libvo-aacenc-dev nasm python3-venv libpipewire-0.3-dev)
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
# What building and running need: maturin builds the extension, NumPy is its one dependency.
.venv/bin/python -m pip install -q "maturin>=1.9.4,<2" "numpy>=1.24" ${SETUP_PIP_EXTRA:-}
make build 2>&1 | grep -v "^\s*$" | tail -n 2
echo "setup: done ($(.venv/bin/python -c 'import mediarecorder as m; print("mediarecorder", m.__version__)'))"
