# Sourced by test.sh and sdist_test.sh: what both do to the cached Debian roots.
#   mount_in <root> <host path | proc> <path inside>: mounts once, unmounted on exit;
#   fill_wheelhouse <python version>: NumPy's and PyAV's wheels for that CPython, downloaded on
#     the host into $(house <python version>) (cached), for an offline install inside.
ROOTS=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder/chroots
HOUSE=${XDG_CACHE_HOME:-$HOME/.cache}/mediarecorder/wheelhouse
PY=${VENV:-.venv}/bin/python

mounted=()
unmount_all() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    mounted=()
}
trap unmount_all EXIT

mount_in() {
    mkdir -p "$1$3"
    if ! mountpoint -q "$1$3"; then
        if [ "$2" = proc ]; then mount -t proc proc "$1$3"; else mount --rbind "$2" "$1$3"; fi
        mounted+=("$1$3")
    fi
}

# (for the machine ARCH names: x86_64 or aarch64, each in a folder of its own)
fill_wheelhouse() {
    local arch=${ARCH:-$(uname -m)}
    "$PY" -m pip download -q --only-binary=:all: --dest "$(house "$1")" \
        --python-version "$1" --implementation cp --platform "manylinux_2_28_$arch" \
        --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" numpy av
}
house() {
    local arch=${ARCH:-$(uname -m)}
    if [ "$arch" = x86_64 ]; then echo "$HOUSE/cp${1/./}"; else echo "$HOUSE/$arch/cp${1/./}"; fi
}
