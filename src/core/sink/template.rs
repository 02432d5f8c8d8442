//! Names of segmented recordings: `"take-{index:04d}.webm"`, `"{start_time}.webm"`. Python's
//! format syntax, the two fields and the integer specs that make sense for them only, so that
//! names are formatted in the core, on the session thread, without calling Python.
//!
//! Every spec is checked here, at `start()`: formatting a name never fails later.

use crate::core::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    /// `{index}`, `{index:Nd}`, `{index:0Nd}`: (width, zero padded).
    Index(usize, bool),
    /// `{start_time}`: the segment's start, UTC, to the millisecond, `20261128T101500.123Z`.
    StartTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The widest `{index}`: a u64 has 20 digits, and a wider field only pads the name.
pub const MAX_INDEX_WIDTH: usize = 20;

impl Template {
    /// Parses `s`; a template must name `{index}` or `{start_time}`, so that the segments of
    /// one recording get names of their own.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::InvalidValue(format!(
                "file: the segment template {s:?} {why} (expected {{index}}, {{index:04d}} or \
                 {{start_time}} fields)"
            ))
        };
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut field = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => field.push(c),
                            None => return Err(bad("has an unclosed '{'")),
                        }
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    let (name, spec) = field.split_once(':').unwrap_or((&field, ""));
                    pieces.push(match (name, spec) {
                        ("start_time", "") => Piece::StartTime,
                        ("index", spec) => {
                            let digits = spec.strip_suffix('d').unwrap_or(spec);
                            let zero = digits.starts_with('0') && digits.len() > 1;
                            let width: usize = if digits.is_empty() {
                                0
                            } else {
                                digits.parse().map_err(|_| bad("has a format spec for index"))?
                            };
                            if width > MAX_INDEX_WIDTH {
                                return Err(bad(&format!(
                                    "pads {{index}} to {width} digits (at most {MAX_INDEX_WIDTH})"
                                )));
                            }
                            Piece::Index(width, zero)
                        }
                        _ => return Err(bad(&format!("has the field {{{field}}}"))),
                    });
                }
                '}' => return Err(bad("has a single '}'")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if !pieces.iter().any(|p| !matches!(p, Piece::Text(_))) {
            return Err(bad("names no field, so every segment would get the same name"));
        }
        Ok(Template { pieces })
    }

    /// The name of segment `index`, started at `unix_ns` (UTC; shown to the millisecond).
    pub fn format(&self, index: u64, unix_ns: i64) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Index(width, true) => out.push_str(&format!("{index:0width$}")),
                Piece::Index(width, false) => out.push_str(&format!("{index:width$}")),
                Piece::StartTime => {
                    let t = chrono::DateTime::from_timestamp_nanos(unix_ns);
                    out.push_str(&t.format("%Y%m%dT%H%M%S%.3fZ").to_string());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_start_time_are_formatted_as_python_would() {
        let t = Template::parse("s3://b/take-{index:04d}.webm").unwrap();
        assert_eq!(t.format(7, 0), "s3://b/take-0007.webm");
        let t = Template::parse("{index}-{start_time}.webm").unwrap();
        assert_eq!(t.format(12, 1_764_324_900_123_000_000), "12-20251128T101500.123Z.webm");
        assert_eq!(Template::parse("{{x}}{index:3d}").unwrap().format(5, 0), "{x}  5");
    }

    #[test]
    fn templates_without_a_field_or_with_unknown_ones_are_refused() {
        for bad in [
            "take.webm",
            "{name}.webm",
            "{index:x}.webm",
            "{index",
            "a}b{index}",
            "x{index:0100000d}.webm",
            "{index:21d}",
            "{index:099999999999999999999999d}",
        ] {
            let e = Template::parse(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidValue(_)), "{bad}: {e:?}");
            assert!(e.to_string().starts_with("file: the segment template"), "{e}");
        }
        let widest = Template::parse("{index:020d}").unwrap();
        assert_eq!(widest.format(u64::MAX, 0), u64::MAX.to_string());
    }
}
