#!/usr/bin/env bash
# The wheel's libvpx and libaom: encoder-only, real-time-only static libraries built from
# Debian 12's own sources, cached. Usage: codec_libs.sh <stage folder>; each library is
# installed under <stage>/<name> with its headers and a .pc file in <stage>/<name>/lib/pkgconfig.
#
# Why not Debian's own libvpx.a / libaom.a (which build.sh used before): they carry decoders,
# two-pass and "good quality" modes and the high-bit-depth paths, none of which a real-time
# 8-bit recorder can reach, and they weighed 3.2 MB of the wheel's 10.3. Built here with
# decoders, high bit depth and non-real-time modes configured out, the same encoders link to
# 1.7 MB (libaom) and 0.6 MB (libvpx) deflated instead of 2.1 and 1.1.
#
# Why Debian's sources: the upstream tarball Debian ships and Debian's own patches, which are
# where its security fixes are (CVE patches are applied in the order of Debian's series file).
# Both files are pinned by SHA-256; a changed or unreachable file stops the build. Debian's
# patches that only concern packaging are skipped (listed per library below).
#
# The objects are compiled by the build machine's gcc, as Debian's archives were: symbol
# versions are bound at the final link, which zig does against its glibc 2.28 stubs, and
# check.py fails the wheel if anything newer is referenced.
set -euo pipefail

STAGE=${1:?usage: codec_libs.sh <stage folder>}
SRC=$STAGE/src
JOBS=$(nproc)
DEBIAN=https://deb.debian.org/debian/pool/main
SECURITY=https://deb.debian.org/debian-security/pool/updates/main
CFLAGS_SECTIONS="-O2 -ffunction-sections -fdata-sections"
mkdir -p "$SRC"

fetch() { # url sha256 -> path of the verified file
    local url=$1 sum=$2 file
    file=$SRC/$(basename "$url")
    if ! echo "$sum  $file" | sha256sum --check --status 2>/dev/null; then
        curl -fsSL --retry 3 -o "$file.part" "$url" \
            || { echo "codec_libs: cannot download $url" >&2; exit 1; }
        echo "$sum  $file.part" | sha256sum --check --status \
            || { echo "codec_libs: $url does not have SHA-256 $sum" >&2; exit 1; }
        mv "$file.part" "$file"
    fi
    echo "$file"
}

# unpack <name> <orig url> <sha256> <debian url> <sha256> <patches to skip...>
# Leaves the patched source in $SRC/<name>-work/source.
unpack() {
    local name=$1 orig debian work=$SRC/$1-work
    orig=$(fetch "$2" "$3")
    debian=$(fetch "$4" "$5")
    shift 5
    rm -rf "$work" && mkdir -p "$work/source"
    tar -xf "$orig" -C "$work/source" --strip-components=1
    tar -xf "$debian" -C "$work"
    local patch
    while read -r patch; do
        case "$patch" in ''|'#'*) continue ;; esac
        if [[ " $* " == *" $patch "* ]]; then continue; fi
        patch -d "$work/source" -p1 --quiet --forward <"$work/debian/patches/$patch"
    done <"$work/debian/patches/series"
}

# build_once <name> <recipe...>: runs build_<name> unless <stage>/<name> was built by this
# same recipe (the recipe text, with every URL, hash and flag, is the cache key).
build_once() {
    local name=$1 stamp=$STAGE/$1/.recipe
    shift
    local recipe="$*"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ]; then
        return
    fi
    echo "codec_libs: building $name (once; cached in $STAGE/$name)" >&2
    rm -rf "${STAGE:?}/$name"
    "build_$name"
    echo "$recipe" >"$stamp"
}

VPX_ORIG=("$DEBIAN/libv/libvpx/libvpx_1.12.0.orig.tar.gz"
          f1acc15d0fd0cb431f4bf6eac32d5e932e40ea1186fe78e074254d6d003957bb)
VPX_DEBIAN=("$SECURITY/libv/libvpx/libvpx_1.12.0-1+deb12u5.debian.tar.xz"
            35cfacecb71f4c4ddfbb29b53b68fb7e82f1e86e28b67327c72683715c5e22f4)
VPX_FLAGS=(--target=x86_64-linux-gcc --enable-pic --enable-static --disable-shared
           --disable-vp8-decoder --disable-vp9-decoder --enable-realtime-only
           --disable-examples --disable-tools --disable-docs --disable-unit-tests
           --disable-install-docs --disable-install-bins --disable-install-srcs --as=nasm)
build_vpx() {
    unpack vpx "${VPX_ORIG[@]}" "${VPX_DEBIAN[@]}"
    local work=$SRC/vpx-work
    mkdir -p "$work/build"
    (cd "$work/build" && ../source/configure "${VPX_FLAGS[@]}" --prefix="$STAGE/vpx" \
        --extra-cflags="$CFLAGS_SECTIONS" >configure.log 2>&1 \
        && make -j"$JOBS" >make.log 2>&1 && make install >install.log 2>&1) \
        || { echo "codec_libs: libvpx failed; logs in $work/build" >&2; exit 1; }
    rm -rf "$work"
}

AOM_ORIG=("$DEBIAN/a/aom/aom_3.6.0.orig.tar.gz"
          2ba213822cb1528b5558d6727125654e14d1b2d7505bd1fc8afa36c2e9e9f94a)
AOM_DEBIAN=("$SECURITY/a/aom/aom_3.6.0-1+deb12u3.debian.tar.xz"
            79ae3cf9a422308fce165b018866307e4b5592dfe7d34774e4f7ab8899f52011)
# Skipped: the documentation's MathJax source, and linking Debian's libyuv (only aomenc and the
# examples use it; CONFIG_LIBYUV=0 below).
AOM_SKIP=(0001-doc-Use-libjs-mathjax-rather-than-cloudflare-copy.patch 0002-use-system-libyuv.patch)
AOM_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON
           -DBUILD_SHARED_LIBS=0 -DCONFIG_AV1_DECODER=0 -DCONFIG_REALTIME_ONLY=1
           -DCONFIG_AV1_HIGHBITDEPTH=0 -DCONFIG_LIBYUV=0 -DCONFIG_MULTITHREAD=1
           -DENABLE_DOCS=0 -DENABLE_EXAMPLES=0 -DENABLE_TESTS=0 -DENABLE_TESTDATA=0
           -DENABLE_TOOLS=0)
build_aom() {
    unpack aom "${AOM_ORIG[@]}" "${AOM_DEBIAN[@]}" "${AOM_SKIP[@]}"
    local work=$SRC/aom-work
    (cmake -S "$work/source" -B "$work/build" -G "Unix Makefiles" "${AOM_FLAGS[@]}" \
        -DCMAKE_INSTALL_PREFIX="$STAGE/aom" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_C_FLAGS="$CFLAGS_SECTIONS" -DCMAKE_CXX_FLAGS="$CFLAGS_SECTIONS" \
        >"$work/cmake.log" 2>&1 \
        && cmake --build "$work/build" -j "$JOBS" >"$work/make.log" 2>&1 \
        && cmake --install "$work/build" >"$work/install.log" 2>&1) \
        || { echo "codec_libs: libaom failed; logs in $work" >&2; exit 1; }
    # aom-sys makes its bindings from one header that includes the decoder's API too, which a
    # build without the decoder does not install. The declarations are harmless: nothing of
    # ours calls the decoder, so nothing links against it.
    cp "$work/source/aom/aom_decoder.h" "$work/source/aom/aomdx.h" "$STAGE/aom/include/aom/"
    rm -rf "$work"
}

build_once vpx "${VPX_ORIG[@]}" "${VPX_DEBIAN[@]}" "${VPX_FLAGS[@]}" "$CFLAGS_SECTIONS"
build_once aom decoder-headers "${AOM_ORIG[@]}" "${AOM_DEBIAN[@]}" "${AOM_SKIP[@]}" "${AOM_FLAGS[@]}" \
    "$CFLAGS_SECTIONS"
