#!/usr/bin/env bash
# Builds the minimal Debian root filesystems the wheel test installs the wheel into, once:
#   bullseye: Debian 11, Python 3.9, glibc 2.31, no sound stack (import without libasound);
#   bookworm: Debian 12, Python 3.11, libasound2 and PulseAudio (a device recording), and
#             libpipewire (the screen-cast plugin loads);
#   trixie:   Debian 13, Python 3.13, no sound stack (the newest CPython; amd64 only).
# For arm64 (ARCH=aarch64) the same Debian 11 and 12 roots are made for arm64 and run through
# qemu-user-static (binfmt, see binfmt_on below): "bullseye-arm64", "bookworm-arm64".
# They are kept under the user's cache folder with a stamp file, so a second run does nothing.
# A change to the package lists below changes the stamp and rebuilds that root.
# debootstrap downloads from its own default mirror; DEBIAN_MIRROR=<url> in the environment
# names another (no host is written here).
# Usage: chroots.sh [ROOTS_DIR] [ARCH]   (default ~/.cache/mediarecorder/chroots, the machine's)
set -euo pipefail

ROOTS=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder/chroots}
ARCH=${2:-$(uname -m)}
MIRROR=()
[ -z "${DEBIAN_MIRROR:-}" ] || MIRROR=("$DEBIAN_MIRROR")
mkdir -p "$ROOTS"

declare -A INCLUDE=(
    [bullseye]="python3,python3-venv,ca-certificates"
    [bookworm]="python3,python3-venv,ca-certificates,libasound2,libasound2-plugins,pulseaudio,pulseaudio-utils,libpipewire-0.3-0"
    [trixie]="python3,python3-venv,ca-certificates"
)

# binfmt_on: lets the kernel run arm64 programs through qemu-aarch64-static (the "F" flag:
# the interpreter is opened once at registration, so it needs no copy inside the roots).
# binfmt_misc is kernel-wide and not kept across reboots: this runs every time, idempotent.
binfmt_on() {
    command -v qemu-aarch64-static >/dev/null || {
        echo "chroots: arm64 roots need qemu-user-static and binfmt-support (scripts/setup-test.sh)" >&2
        exit 1
    }
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64 2>/dev/null || true
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || {
        echo "chroots: could not register qemu-aarch64 with binfmt_misc" >&2
        exit 1
    }
}

case "$ARCH" in
    x86_64 | amd64) DEB_ARCH=amd64 SUITES=(bullseye bookworm trixie) SUFFIX= ;;
    aarch64 | arm64) DEB_ARCH=arm64 SUITES=(bullseye bookworm) SUFFIX=-arm64; binfmt_on ;;
    *) echo "chroots: no Debian roots for $ARCH" >&2; exit 1 ;;
esac

for suite in "${SUITES[@]}"; do
    root="$ROOTS/$suite$SUFFIX"
    want="$suite $DEB_ARCH minbase ${INCLUDE[$suite]}"
    # Stamps written before the architecture was part of them are amd64 roots.
    [ "$DEB_ARCH" != amd64 ] || [ ! -f "$root.stamp" ] \
        || sed -i "s/^$suite minbase /$suite amd64 minbase /" "$root.stamp"
    if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$want" ]; then
        continue
    fi
    echo "chroots: bootstrapping $suite ($DEB_ARCH) into $root"
    if grep -qF " $root/" /proc/mounts; then
        # A mount left inside (an interrupted test) would be deleted through by rm -rf.
        echo "chroots: $root still has mounts; unmount them first" >&2
        exit 1
    fi
    rm -rf "$root" "$root.stamp" "$root.partial"
    start=$SECONDS
    debootstrap --arch="$DEB_ARCH" --variant=minbase --include="${INCLUDE[$suite]}" "$suite" \
        "$root.partial" "${MIRROR[@]}" >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
    # Downloaded .debs are not needed once installed: they would double the cache's size.
    rm -rf "$root.partial"/var/cache/apt/archives/*.deb
    mv "$root.partial" "$root"
    echo "$want" >"$root.stamp"
    echo "chroots: $suite ($DEB_ARCH) ready in $((SECONDS - start)) s"
done
