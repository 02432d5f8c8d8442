//! What a `file=` string names, parsed strictly before the recording starts: a local path, or
//! an object store URL. Anything of the form `scheme://...` is a URL and either parses as that
//! scheme or is refused; it never falls back to a path (a folder named `s3:` must not catch a
//! recording). The rest of the URL is taken literally: the bucket is the text up to the first
//! `/`, the key everything after it, `#`, `?` and `%` included (percent-encoded on the wire by
//! the client), so two different names never share an object.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::core::sink::store::{self, StoreDestination};
use crate::core::sink::{FileTarget, Target};
use crate::core::{Error, Result};

/// How long a destination may go without progress before the recording gives up on it, unless
/// `storage_options` say otherwise (`stall_timeout`, seconds).
pub const STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The option of ours among `storage_options`; the others are the store client's.
pub const STALL_TIMEOUT_KEY: &str = "stall_timeout";

/// The object stores a URL may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
    Memory,
}

/// `storage_options` of one recording: the store client's keys, our own stall timeout, and
/// the bytes its uploads hold that the store has not taken yet (shared by every segment).
#[derive(Clone)]
pub struct StorageOptions {
    pub client: Vec<(String, String)>,
    pub stall_timeout: Duration,
    pub(crate) unsent: Arc<AtomicUsize>,
}

impl StorageOptions {
    pub fn parse(options: Vec<(String, String)>) -> Result<Self> {
        let mut stall_timeout = STALL_TIMEOUT;
        let mut client = Vec::new();
        for (key, value) in options {
            if key != STALL_TIMEOUT_KEY {
                client.push((key, value));
                continue;
            }
            stall_timeout = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    Error::InvalidValue(format!(
                        "storage_options[{key:?}]: expected seconds > 0, got {value:?}"
                    ))
                })?;
        }
        Ok(StorageOptions { client, stall_timeout, unsent: Arc::default() })
    }

    /// For a destination that takes no client options (a file object, `memory://`).
    pub fn stall_timeout_only(&self, destination: &str) -> Result<()> {
        match self.client.first() {
            Some((key, _)) => Err(Error::InvalidValue(format!(
                "storage_options: {key:?} is not an option of {destination} (it takes \
                 {STALL_TIMEOUT_KEY} only)"
            ))),
            None => Ok(()),
        }
    }
}

/// The stall timeout as messages show it: `1.5 s`, `30 s`.
pub fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A parsed `file=` string.
pub enum Destination {
    Path(PathBuf),
    Object(StoreDestination),
    /// `file:///path`: a local path, given as a URL.
    FileUrl(PathBuf),
}

/// The parts of an object store URL.
pub struct ObjectUrl<'a> {
    pub url: &'a str,
    pub scheme: Scheme,
    pub bucket: &'a str,
    pub key: &'a str,
}

fn scheme_of(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid.then_some((scheme, rest))
}

impl Destination {
    /// Parses `s` with `options` (checked against the store the URL names): everything that
    /// can be known wrong before the first byte is refused here, at `start()`.
    pub fn parse(s: &str, options: &StorageOptions) -> Result<Self> {
        let Some((scheme, rest)) = scheme_of(s) else {
            return Ok(Destination::Path(PathBuf::from(s)));
        };
        let bad = |why: String| Error::InvalidValue(format!("file: {s:?}{why}"));
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "azure" | "adl" | "abfs" | "abfss" => Scheme::Azure,
            "memory" => Scheme::Memory,
            "file" => {
                let path = rest
                    .strip_prefix('/')
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| bad(": expected file:///absolute/path".into()))?;
                options.stall_timeout_only("file://")?;
                return Ok(Destination::FileUrl(PathBuf::from(format!("/{path}"))));
            }
            "http" | "https" => {
                return Err(bad(": Http stores cannot be written to (expected s3://, gs://, \
                                az://, file:// or memory://)"
                    .into()))
            }
            other => {
                return Err(bad(format!(
                    ": {other}:// is not a destination (expected s3://, gs://, az://, file:// \
                     or memory://)"
                )))
            }
        };
        let (bucket, key) = match scheme {
            Scheme::Memory => match rest.strip_prefix('/') {
                Some(key) => ("", key),
                None => return Err(bad(": expected memory:///key".into())),
            },
            _ => rest.split_once('/').unwrap_or((rest, "")),
        };
        let example = match scheme {
            Scheme::S3 => "s3://bucket/key",
            Scheme::Gcs => "gs://bucket/key",
            Scheme::Azure => "az://container/key",
            Scheme::Memory => "memory:///key",
        };
        if scheme != Scheme::Memory {
            if bucket.is_empty() {
                return Err(bad(format!(" names no bucket (expected {example})")));
            }
            let valid = bucket.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
            if !valid {
                return Err(bad(format!(
                    ": {bucket:?} is not a bucket name (letters, digits, '.', '-' and '_')"
                )));
            }
        }
        if key.is_empty() {
            let after = if scheme == Scheme::Memory { "" } else { " after the bucket" };
            return Err(bad(format!(" names no key{after} (expected {example})")));
        }
        if key.split('/').any(str::is_empty) {
            return Err(bad(format!(
                ": the key {key:?} has an empty segment (a '/' at its start or end, or two in \
                 a row)"
            )));
        }
        if key.split('/').any(|p| p == "." || p == "..") {
            return Err(bad(format!(": the key {key:?} has a segment \".\" or \"..\"")));
        }
        if key.chars().any(char::is_control) {
            return Err(bad(format!(": the key {key:?} has a control character")));
        }
        let url = ObjectUrl { url: s, scheme, bucket, key };
        Ok(Destination::Object(store::build(&url, options)?))
    }

    /// Opens the destination for writing: creates or truncates the file, or
    /// starts the upload.
    pub fn open(&self, options: &StorageOptions) -> Result<Box<dyn Target>> {
        match self {
            Destination::Path(p) | Destination::FileUrl(p) => {
                // What an MP4 rewrite killed mid-way left next to it goes with the next
                // recording into that folder.
                if let Some(folder) = p.parent() {
                    crate::core::mux::mp4::faststart::remove_stale_rewrites(folder);
                }
                Ok(Box::new(FileTarget::create(p)?))
            }
            Destination::Object(d) => store::open(d, options),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Destination> {
        Destination::parse(s, &StorageOptions::parse(vec![]).unwrap())
    }

    #[test]
    fn a_path_is_anything_without_a_scheme() {
        for s in ["take.webm", "s3:x.webm", "./s3://x", "/tmp/a#b?c.webm", "C:\\x.webm"] {
            assert!(
                matches!(parse(s), Ok(Destination::Path(p)) if p == std::path::Path::new(s)),
                "{s}"
            );
        }
    }

    #[test]
    fn a_key_keeps_every_character_after_the_bucket() {
        let Ok(Destination::Object(d)) = parse("memory:///run#1?v=2%20.webm") else {
            panic!("not parsed")
        };
        assert_eq!(d.key(), "run#1?v=2%20.webm");
    }

    #[test]
    fn a_url_never_becomes_a_path() {
        for s in ["s3://", "s3:///x", "s3://b", "s3://b//x", "s3://b/x/", "gs://b/./x", "xx://b/x"]
        {
            assert!(matches!(parse(s), Err(Error::InvalidValue(_))), "{s}");
        }
    }

    #[test]
    fn the_stall_timeout_is_ours_and_checked() {
        let o = StorageOptions::parse(vec![("stall_timeout".into(), "1.5".into())]).unwrap();
        assert_eq!(o.stall_timeout, Duration::from_millis(1500));
        assert!(o.client.is_empty());
        assert_eq!(seconds(o.stall_timeout), "1.5 s");
        for bad in ["0", "-1", "inf", "x"] {
            assert!(StorageOptions::parse(vec![("stall_timeout".into(), bad.into())]).is_err());
        }
    }
}
