#!/usr/bin/env bash
# make wheel-windows-test: the Windows build's native code run here under Wine (Debian's wine64):
#   1. the core's Rust tests (`cargo test --no-default-features`) for x86_64-pc-windows-gnu,
#      every test program run by wine (cargo's runner for that target);
#   2. the device plugin's tests, its capture test included: cpal's WASAPI host, through Wine's
#      audio driver (winepulse), records a 1 kHz tone that a private PulseAudio server plays into
#      a null sink whose monitor is the default source;
#   3. the wheel (make wheel-windows) in a Windows CPython, if one can be had (see
#      windows_python.sh): pip-installed, imported, a recording made and checked.
# Needs what scripts/setup-test.sh installs; the Wine prefix is cached (wine.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
export PATH="$VENV/bin:$PATH"
TARGET=x86_64-pc-windows-gnu
STAGE=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/static-win64
TONE_HZ=1000

rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
bash scripts/wheel/codec_libs.sh "$STAGE" win64
# shellcheck source=scripts/wheel/windows_env.sh
source scripts/wheel/windows_env.sh
# shellcheck source=scripts/wheel/wine.sh
source scripts/wheel/wine.sh
windows_env "$STAGE"
wine_prefix

start=$SECONDS
echo "windows-test: the core's tests under Wine"
cargo test --release --no-default-features --target "$TARGET"
echo "windows-test: core passed in $((SECONDS - start)) s"

# A private PulseAudio server (its own runtime folder): a null sink playing the tone, its monitor
# the default source, which Wine's driver offers as the default capture device.
runtime=$(mktemp -d)
export XDG_RUNTIME_DIR=$runtime
cleanup() {
    [ -z "${player:-}" ] || kill "$player" 2>/dev/null || true
    pulseaudio --kill 2>/dev/null || true
    wineserver -k 2>/dev/null || true
    rm -rf "$runtime"
}
trap cleanup EXIT
pulseaudio -n --daemonize=yes --exit-idle-time=-1 -L module-native-protocol-unix \
    -L "module-null-sink sink_name=vsink rate=48000 channels=2"
for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl set-default-sink vsink
pactl set-default-source vsink.monitor
"$VENV/bin/python" -c "
import sys, numpy as np
t = np.arange(48000 * 120) / 48000
s = (0.5 * np.sin(2 * np.pi * $TONE_HZ * t)).astype(np.float32)
sys.stdout.buffer.write(np.repeat(s, 2).tobytes())" \
    | pacat --playback -d vsink --raw --format=float32le --rate=48000 --channels=2 &
player=$!

start=$SECONDS
echo "windows-test: the device plugin's tests under Wine (WASAPI capture of a $TONE_HZ Hz tone)"
MRD_TEST_TONE_HZ=$TONE_HZ cargo test --release --target "$TARGET" -p mediarecorder-devices \
    -- --include-ignored --nocapture
echo "windows-test: device plugin passed in $((SECONDS - start)) s"

bash scripts/wheel/windows_python.sh
