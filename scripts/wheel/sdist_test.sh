#!/usr/bin/env bash
# make sdist-test: `pip install` of the source distribution in a minimal Debian 12 root that has
# only the documented build dependencies, then the installed-wheel check on what it built.
#
# The root is the wheel test's Debian 12 root (chroots.sh) copied once, with the build
# dependencies the README lists installed by apt (cached with a stamp like the others). Rust
# is the one thing not from Debian (Debian 12's rustc is too old): the host's rustup toolchain
# is mounted in, as a user's own rustup install would be. pip fetches maturin (the build
# backend) and cargo the crates from their registries, as they would for a user; NumPy and
# PyAV come from the wheel test's wheelhouse. Needs root (chroot, mount) and the network; the
# root is given the host's name servers and trusted certificates (a proxy's own, where there is
# one), as a user's machine has its own.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=scripts/wheel/roots.sh
source scripts/wheel/roots.sh
# The build dependencies of the sdist, as the README and docs/wheels.md name them.
BUILD_DEPS="gcc g++ make cmake pkg-config nasm libclang-dev libvpx-dev libaom-dev libvo-aacenc-dev"

if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null; then
    echo "sdist-test: SKIPPED: needs root and debootstrap (scripts/setup-test.sh installs it)"
    exit 0
fi
bash scripts/wheel/chroots.sh "$ROOTS"

root=$ROOTS/bookworm-sdist
want="bookworm + $BUILD_DEPS"
if ! { [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$want" ]; }; then
    echo "sdist-test: making $root (Debian 12 with $BUILD_DEPS)"
    rm -rf "$root" "$root.partial" "$root.stamp"
    cp -a "$ROOTS/bookworm" "$root.partial"
    cp /etc/resolv.conf "$root.partial/etc/resolv.conf"
    mount_in "$root.partial" proc /proc
    mount_in "$root.partial" /dev /dev
    chroot "$root.partial" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive /bin/sh -euc "
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends $BUILD_DEPS >/dev/null
        rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*"
    unmount_all
    mv "$root.partial" "$root"
    echo "$want" >"$root.stamp"
fi

rm -rf target/wheels/sdist
"$PY" -m maturin sdist --out target/wheels/sdist >/dev/null
sdist=$(ls target/wheels/sdist/mediarecorder-*.tar.gz)
fill_wheelhouse 3.11

cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$root/etc/ssl/certs/host-ca.crt"
mount_in "$root" proc /proc
mount_in "$root" /dev /dev
mount_in "$root" "${RUSTUP_HOME:-$HOME/.rustup}" /opt/rust/rustup
mount_in "$root" "${CARGO_HOME:-$HOME/.cargo}" /opt/rust/cargo
rm -rf "$root/opt/sdist-test" && mkdir -p "$root/opt/sdist-test"
cp -r "$HOUSE/cp311" "$root/opt/sdist-test/house"
cp "$sdist" tests/wheel/installed_wheel_check.py "$root/opt/sdist-test/"
start=$SECONDS
chroot "$root" /usr/bin/env -i PATH=/opt/rust/cargo/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 RUSTUP_HOME=/opt/rust/rustup CARGO_HOME=/opt/rust/cargo \
    PIP_CERT=/etc/ssl/certs/host-ca.crt CARGO_HTTP_CAINFO=/etc/ssl/certs/host-ca.crt \
    /bin/sh -euc "
    cd /opt/sdist-test
    python3 -m venv venv
    venv/bin/pip install -q --disable-pip-version-check --no-index --find-links house numpy av
    venv/bin/pip install -q --disable-pip-version-check ./$(basename "$sdist")
    venv/bin/python installed_wheel_check.py
"
echo "sdist-test: built and checked in $((SECONDS - start)) s"
