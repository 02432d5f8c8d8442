#!/usr/bin/env bash
# Builds the two minimal Debian root filesystems the wheel test installs the wheel into, once:
#   bullseye: Debian 11, Python 3.9, glibc 2.31, no sound stack (import without libasound);
#   bookworm: Debian 12, Python 3.11, libasound2 and PulseAudio (a device recording).
# They are kept under the user's cache folder with a stamp file, so a second run does nothing.
# A change to the package lists below changes the stamp and rebuilds that root.
# debootstrap downloads from its own default mirror; DEBIAN_MIRROR=<url> in the environment
# names another (no host is written here).
# Usage: chroots.sh [ROOTS_DIR]   (default ~/.cache/mediarecorder/chroots)
set -euo pipefail

ROOTS=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder/chroots}
MIRROR=()
[ -z "${DEBIAN_MIRROR:-}" ] || MIRROR=("$DEBIAN_MIRROR")
mkdir -p "$ROOTS"

declare -A INCLUDE=(
    [bullseye]="python3,python3-venv,ca-certificates"
    [bookworm]="python3,python3-venv,ca-certificates,libasound2,libasound2-plugins,pulseaudio,pulseaudio-utils"
)

for suite in bullseye bookworm; do
    root="$ROOTS/$suite"
    want="$suite minbase ${INCLUDE[$suite]}"
    if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$want" ]; then
        continue
    fi
    echo "chroots: bootstrapping $suite into $root"
    rm -rf "$root" "$root.stamp" "$root.partial"
    start=$SECONDS
    debootstrap --variant=minbase --include="${INCLUDE[$suite]}" "$suite" "$root.partial" "${MIRROR[@]}" \
        >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
    # Downloaded .debs are not needed once installed: they would double the cache's size.
    rm -rf "$root.partial"/var/cache/apt/archives/*.deb
    mv "$root.partial" "$root"
    echo "$want" >"$root.stamp"
    echo "chroots: $suite ready in $((SECONDS - start)) s"
done
