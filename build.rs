//! Links the system libraries that no -sys crate links for us: libvo-aacenc (AAC-LC,
//! Apache-2.0, Debian's libvo-aacenc-dev). Found by pkg-config, dynamically unless
//! `VO_AACENC_STATIC=1` (pkg-config's convention) asks for the static archive.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(e) = pkg_config::Config::new().probe("vo-aacenc") {
        panic!(
            "libvo-aacenc not found ({e}); install Debian's libvo-aacenc-dev (scripts/setup.sh)"
        );
    }
}
