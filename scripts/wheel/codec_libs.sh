#!/usr/bin/env bash
# The wheel's libvpx and libaom: encoder-only, real-time-only static libraries built from
# Debian 12's own sources, cached. Usage: codec_libs.sh <stage folder> [x86_64|aarch64]; each
# library is installed under <stage>/<name> with its headers and a .pc file in
# <stage>/<name>/lib/pkgconfig. For win64 (Windows x64, mingw-w64) libvo-aacenc is built here
# too (Debian ships no Windows archive of it). For aarch64 they are cross-compiled by Debian's
# gcc-aarch64-linux-gnu with their NEON code (libvpx's arm64-linux-gcc target, libaom's
# arm64-linux-gcc cmake toolchain), and the Debian packages the wheel links that are not built
# here (libvo-aacenc's static archive, libasound for the device plugin, libpipewire and its
# headers for the screen-cast plugin) are downloaded for arm64
# by `apt-get download` and unpacked into <stage>/sysroot (see target_debs).
#
# Why not Debian's own libvpx.a / libaom.a (which build.sh used before): they carry decoders,
# two-pass and "good quality" modes and the high-bit-depth paths, none of which a real-time
# 8-bit recorder can reach, and they weighed 3.2 MB of the wheel's 10.3. Built here with
# decoders, high bit depth and non-real-time modes configured out, the same encoders link to
# 1.7 MB (libaom) and 0.6 MB (libvpx) deflated instead of 2.1 and 1.1.
#
# Why Debian's sources: the upstream tarball Debian ships and Debian's own patches, which are
# where its security fixes are (CVE patches are applied in the order of Debian's series file).
# Debian's patches that only concern packaging are skipped (listed per library below).
#
# Where they come from: apt, through the machine's own apt configuration (no host is named
# here). A private apt state under <stage>/src/apt has the system's sources with their types
# switched to deb-src (same URIs, suites, components and Signed-By; the security suite when the
# system has it), so `apt-get update` and `apt-get source --download-only` work unprivileged and
# never touch /etc/apt or /var/lib/apt. apt checks the signed indexes and every file's hash.
#
# Which version: the upstream release is pinned (below, with its tarball's SHA-256, which
# cannot change: Debian's archive never replaces an .orig tarball of the same version), and
# the newest Debian revision of it is taken (the bookworm-security one when there is one).
# Pinning the revision too would stop the build each time Debian publishes a security update,
# since the archive then drops the previous one; taking the newest keeps its fixes coming
# while the code and the patch list this script knows stay the same. The revision used is
# printed and is part of the cache key, so a new security update rebuilds the library.
#
# The objects are compiled by the build machine's gcc, as Debian's archives were: symbol
# versions are bound at the final link, which zig does against its glibc 2.28 stubs, and
# check.py fails the wheel if anything newer is referenced.
set -euo pipefail

STAGE=${1:?usage: codec_libs.sh <stage folder> [x86_64|aarch64|win64]}
ARCH=${2:-$(uname -m)}
SRC=$STAGE/src
APT_DIR=$SRC/apt
JOBS=$(nproc)
CFLAGS_SECTIONS="-O2 -ffunction-sections -fdata-sections"
mkdir -p "$SRC"

fail() { echo "codec_libs: $*" >&2; exit 1; }

# apt with the system's configuration (proxies, keyrings, APT_CONFIG) but sources, lists and
# caches of its own. As root, apt downloads as the _apt user, who cannot enter a build cache in
# root's home folder: apt would fall back to root with a warning, so it is asked to stay root.
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list"
          -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
          -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
[ "$(id -u)" -ne 0 ] || APT_OPTS+=(-o APT::Sandbox::User=root)

# The system's sources (where apt-config says they are), each deb entry made a deb-src one.
apt_sources() {
    local list parts f
    eval "$(apt-config shell list Dir::Etc::SourceList/f parts Dir::Etc::SourceParts/d)"
    rm -rf "$APT_DIR/sources.list.d"
    mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
    : >"$APT_DIR/sources.list"
    for f in "$list" "$parts"*.list; do
        [ -f "$f" ] && sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$f" >>"$APT_DIR/sources.list"
    done
    for f in "$parts"*.sources; do
        [ -f "$f" ] && sed -E 's/^Types:.*/Types: deb-src/I' "$f" >"$APT_DIR/sources.list.d/${f##*/}"
    done
    return 0
}

# A failed update (offline) keeps the indexes of the last one: a cached build still matches.
apt_update() {
    apt_sources
    apt-get -q "${APT_OPTS[@]}" update >"$APT_DIR/update.log" 2>&1 \
        || echo "codec_libs: apt-get update failed (see $APT_DIR/update.log); using the indexes it had" >&2
}

# debian_versions <source package> <upstream version>: the Debian revisions of that upstream
# release in the deb-src indexes, newest first (sort -V orders their "-1+deb12uN" as dpkg does).
debian_versions() {
    local v
    for v in $(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$1" 2>/dev/null \
        | sed -n 's/^Version: //p' | sort -u); do
        case "$v" in "$2"-*) echo "$v" ;; esac
    done | sort -r -V
}

# newest <source package> <upstream version>: the newest of them, or a clear failure.
newest() {
    local best
    best=$(debian_versions "$1" "$2" | head -n 1)
    [ -n "$best" ] || fail "no Debian source of $1 $2 in the system's apt sources (as deb-src);" \
        "versions there: $(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$1" 2>/dev/null \
            | sed -n 's/^Version: //p' | sort -u | tr '\n' ' ')(apt-get update's log: $APT_DIR/update.log)"
    echo "$best"
}

# index_sha256 <source package> <Debian version> <file name>: the file's SHA-256 in the signed
# deb-src index, empty if that record has no such file.
index_sha256() {
    apt-cache "${APT_OPTS[@]}" showsrc --only-source "$1" | awk -v ver="$2" -v name="$3" '
        /^Version: / { v = $2 }
        /^Checksums-Sha256:/ { in_sums = 1; next }
        /^[^ ]/ { in_sums = 0 }
        /^$/ { v = "" }
        in_sums && v == ver && $3 == name { print $1 }'
}

# download <source package> <Debian version> <folder> <file name>: that file of that source,
# by `apt-get source` (its other files too), checked against the index. apt fetches every file
# of one source from the one archive whose index lists it; the .orig tarball, which all of an
# upstream release's revisions share, is tried from the other revisions if that archive does
# not serve it (some mirrors carry a security update's new files only).
download() {
    local pkg=$1 version=$2 dir=$3 name=$4 v sum
    for v in "$version" $(debian_versions "$pkg" "${version%-*}" | grep -vxF "$version"); do
        sum=$(index_sha256 "$pkg" "$v" "$name")
        [ -n "$sum" ] || continue
        mkdir -p "$dir/$v"
        [ -f "$dir/$v/$name" ] || (cd "$dir/$v" && apt-get -q "${APT_OPTS[@]}" source \
            --download-only "$pkg=$v" >>"$dir/download.log" 2>&1) || true
        if echo "$sum  $dir/$v/$name" | sha256sum --check --status 2>/dev/null; then
            echo "$dir/$v/$name"
            return
        fi
    done
    fail "$pkg $version: cannot download $name: $(grep '^E:' "$dir/download.log" | head -n 3)"
}

# unpack <name> <source package> <upstream version> <Debian version> <.orig sha256> <patches to
# skip...>: the source from apt, its .orig tarball checked against the pin, patched in
# $SRC/<name>-work/source.
unpack() {
    local name=$1 pkg=$2 upstream=$3 version=$4 sum=$5 work=$SRC/$1-work orig debian
    shift 5
    rm -rf "$work" && mkdir -p "$work/source" "$work/download"
    echo "codec_libs: $pkg $version from the system's apt sources" >&2
    orig=$(download "$pkg" "$version" "$work/download" "${pkg}_$upstream.orig.tar.gz")
    debian=$(download "$pkg" "$version" "$work/download" "${pkg}_$version.debian.tar.xz")
    echo "$sum  $orig" | sha256sum --check --status \
        || fail "${orig##*/} does not have SHA-256 $sum (the upstream release this script knows)"
    tar -xf "$orig" -C "$work/source" --strip-components=1
    tar -xf "$debian" -C "$work"
    local patch
    # vo-aacenc's Debian packaging has no patches at all.
    [ -f "$work/debian/patches/series" ] || return 0
    while read -r patch; do
        case "$patch" in ''|'#'*) continue ;; esac
        if [[ " $* " == *" $patch "* ]]; then continue; fi
        patch -d "$work/source" -p1 --quiet --forward <"$work/debian/patches/$patch"
    done <"$work/debian/patches/series"
}

# build_once <name> <recipe...>: runs build_<name> unless <stage>/<name> was built by this
# same recipe (the recipe text, with the Debian version, the upstream hash and every flag, is
# the cache key).
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

VPX_UPSTREAM=(libvpx 1.12.0 f1acc15d0fd0cb431f4bf6eac32d5e932e40ea1186fe78e074254d6d003957bb)
VPX_FLAGS=(--enable-pic --enable-static --disable-shared
           --disable-vp8-decoder --disable-vp9-decoder --enable-realtime-only
           --disable-examples --disable-tools --disable-docs --disable-unit-tests
           --disable-install-docs --disable-install-bins --disable-install-srcs)
# libvpx's configure takes the cross compiler's prefix from CROSS; libaom's toolchain file too.
case "$ARCH" in
    x86_64) VPX_FLAGS+=(--target=x86_64-linux-gcc --as=nasm) CROSS_PREFIX= AOM_TOOLCHAIN= ;;
    aarch64) VPX_FLAGS+=(--target=arm64-linux-gcc) CROSS_PREFIX=aarch64-linux-gnu-
             AOM_TOOLCHAIN=build/cmake/toolchains/arm64-linux-gcc.cmake ;;
    # Windows x64 (make wheel-windows): mingw-w64's gcc, the x86_64-pc-windows-gnu target's.
    win64) VPX_FLAGS+=(--target=x86_64-win64-gcc --as=nasm) CROSS_PREFIX=x86_64-w64-mingw32-
           AOM_TOOLCHAIN=build/cmake/toolchains/x86_64-mingw-gcc.cmake ;;
    *) fail "no recipe for $ARCH" ;;
esac
build_vpx() {
    unpack vpx "${VPX_UPSTREAM[@]:0:2}" "$VPX_VERSION" "${VPX_UPSTREAM[2]}"
    local work=$SRC/vpx-work
    mkdir -p "$work/build"
    (cd "$work/build" && CROSS=$CROSS_PREFIX ../source/configure "${VPX_FLAGS[@]}" --prefix="$STAGE/vpx" \
        --extra-cflags="$CFLAGS_SECTIONS" >configure.log 2>&1 \
        && make -j"$JOBS" >make.log 2>&1 && make install >install.log 2>&1) \
        || { echo "codec_libs: libvpx failed; logs in $work/build" >&2; exit 1; }
    rm -rf "$work"
}

AOM_UPSTREAM=(aom 3.6.0 2ba213822cb1528b5558d6727125654e14d1b2d7505bd1fc8afa36c2e9e9f94a)
# Skipped: the documentation's MathJax source, and linking Debian's libyuv (only aomenc and the
# examples use it; CONFIG_LIBYUV=0 below).
AOM_SKIP=(0001-doc-Use-libjs-mathjax-rather-than-cloudflare-copy.patch 0002-use-system-libyuv.patch)
AOM_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON
           -DBUILD_SHARED_LIBS=0 -DCONFIG_AV1_DECODER=0 -DCONFIG_REALTIME_ONLY=1
           -DCONFIG_AV1_HIGHBITDEPTH=0 -DCONFIG_LIBYUV=0 -DCONFIG_MULTITHREAD=1
           -DENABLE_DOCS=0 -DENABLE_EXAMPLES=0 -DENABLE_TESTS=0 -DENABLE_TESTDATA=0
           -DENABLE_TOOLS=0)
build_aom() {
    unpack aom "${AOM_UPSTREAM[@]:0:2}" "$AOM_VERSION" "${AOM_UPSTREAM[2]}" "${AOM_SKIP[@]}"
    local work=$SRC/aom-work
    local toolchain=()
    [ -z "$AOM_TOOLCHAIN" ] || toolchain=(-DCMAKE_TOOLCHAIN_FILE="$work/source/$AOM_TOOLCHAIN")
    (CROSS=$CROSS_PREFIX cmake -S "$work/source" -B "$work/build" -G "Unix Makefiles" "${AOM_FLAGS[@]}" \
        "${toolchain[@]}" \
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

# target_debs <Debian architecture> <package...>: those binary packages of the system's own
# Debian release for another architecture, downloaded by `apt-get download` through the same
# private apt state idea as above (the system's deb entries, an index of that architecture
# only, no dpkg status), checked by apt against the signed indexes and unpacked (dpkg-deb -x,
# nothing is installed) into <stage>/sysroot. Their versions are the cache key.
target_debs() {
    local arch=$1 dir=$STAGE/debs sysroot=$STAGE/sysroot list parts f
    shift
    local opts=(-o "Dir::Etc::SourceList=$dir/apt/sources.list"
                -o "Dir::Etc::SourceParts=$dir/apt/sources.list.d"
                -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
                -o "Dir::State::status=$dir/apt/status"
                -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
    [ "$(id -u)" -ne 0 ] || opts+=(-o APT::Sandbox::User=root)
    eval "$(apt-config shell list Dir::Etc::SourceList/f parts Dir::Etc::SourceParts/d)"
    rm -rf "$dir/apt/sources.list.d"
    mkdir -p "$dir/apt/sources.list.d" "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial"
    : >"$dir/apt/status"
    : >"$dir/apt/sources.list"
    for f in "$list" "$parts"*.list; do
        [ -f "$f" ] && grep -E '^[[:space:]]*deb[[:space:]]' "$f" >>"$dir/apt/sources.list"
    done
    for f in "$parts"*.sources; do
        [ -f "$f" ] && grep -qiE '^Types:.*\bdeb\b' "$f" && cp "$f" "$dir/apt/sources.list.d/"
    done
    apt-get -q "${opts[@]}" update >"$dir/update.log" 2>&1 \
        || echo "codec_libs: apt-get update ($arch) failed (see $dir/update.log)" >&2
    local versions
    versions=$(apt-cache "${opts[@]}" policy "$@" | awk '/^[^ ]/ { p = $1 } /Candidate:/ { print p $2 }')
    if [ -f "$sysroot/.debs" ] && [ "$(cat "$sysroot/.debs")" = "$versions" ]; then
        return
    fi
    echo "codec_libs: $arch packages $(echo $versions)" >&2
    rm -rf "$sysroot" "$dir/download" && mkdir -p "$sysroot" "$dir/download"
    (cd "$dir/download" && apt-get -q "${opts[@]}" download "$@" >"$dir/download.log" 2>&1) \
        || fail "apt-get download $* ($arch) failed: $(grep '^E:' "$dir/download.log" | head -n 3)"
    for f in "$dir/download"/*.deb; do dpkg-deb -x "$f" "$sysroot"; done
    echo "$versions" >"$sysroot/.debs"
}

AACENC_UPSTREAM=(vo-aacenc 0.1.3 e51a7477a359f18df7c4f82d195dab4e14e7414cbd48cf79cc195fc446850f36)
AACENC_FLAGS=(--host=x86_64-w64-mingw32 --enable-static --disable-shared --with-pic)
build_aacenc() {
    unpack aacenc "${AACENC_UPSTREAM[@]:0:2}" "$AACENC_VERSION" "${AACENC_UPSTREAM[2]}"
    local work=$SRC/aacenc-work
    (cd "$work/source" && ./configure "${AACENC_FLAGS[@]}" --prefix="$STAGE/aacenc" \
        CFLAGS="$CFLAGS_SECTIONS" >configure.log 2>&1 \
        && make -j"$JOBS" >make.log 2>&1 && make install >install.log 2>&1) \
        || { echo "codec_libs: libvo-aacenc failed; logs in $work/source" >&2; exit 1; }
    rm -rf "$work"
}

apt_update
VPX_VERSION=$(newest "${VPX_UPSTREAM[@]:0:2}")
AOM_VERSION=$(newest "${AOM_UPSTREAM[@]:0:2}")
build_once vpx "$VPX_VERSION" "${VPX_UPSTREAM[@]}" "${VPX_FLAGS[@]}" "$CFLAGS_SECTIONS" \
    "$CROSS_PREFIX"
build_once aom decoder-headers "$AOM_VERSION" "${AOM_UPSTREAM[@]}" "${AOM_SKIP[@]}" "${AOM_FLAGS[@]}" \
    "$CFLAGS_SECTIONS" "$AOM_TOOLCHAIN"
if [ "$ARCH" = win64 ]; then
    AACENC_VERSION=$(newest "${AACENC_UPSTREAM[@]:0:2}")
    build_once aacenc "$AACENC_VERSION" "${AACENC_UPSTREAM[@]}" "${AACENC_FLAGS[@]}" "$CFLAGS_SECTIONS"
fi
[ "$ARCH" != aarch64 ] || target_debs arm64 libvo-aacenc-dev libvo-aacenc0 libasound2-dev libasound2 \
    libpipewire-0.3-dev libpipewire-0.3-0 libspa-0.2-dev
