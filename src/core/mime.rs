//! MIME type parsing and the support table (reference §3).
//!
//! Parsing follows what browsers accept rather than strict RFC 7231: case-insensitive type,
//! subtype and parameter names, quoted or unquoted `codecs` lists (`codecs=vp8,opus`), and codec
//! identifiers compared by the lowercased part before the first `.` (`VP8`, `vp8.0`).

use crate::core::codec::config::codec_string;
use crate::core::codec::{CodecDescription, CodecId, SampleFormat};
use crate::core::mux::Container;

/// The top-level type of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    Audio,
    Video,
}

/// A parsed, supported MIME type. An empty type parses to `top = None` (the recorder chooses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    pub top: Option<TopLevel>,
    pub container: Container,
    pub audio_codec: Option<CodecId>,
    pub video_codec: Option<CodecId>,
    pub has_codecs: bool,
}

impl MimeType {
    /// What an audio track of this type is encoded as.
    pub fn audio_codec_id(&self) -> CodecId {
        match self.audio_codec.unwrap_or(self.container.default_audio()) {
            CodecId::Pcm(_) => CodecId::Pcm(self.container.pcm_format()),
            c => c,
        }
    }

    /// What a video track of this type is encoded as.
    pub fn video_codec_id(&self) -> CodecId {
        self.video_codec.unwrap_or(self.container.default_video())
    }
}

/// The codec a `codecs` entry names (lowercased), or why it names none this build knows.
fn codec_of(entry: &str) -> Result<CodecId, String> {
    let (name, detail) = entry.split_once('.').unwrap_or((entry, ""));
    let codec = match name {
        "opus" => CodecId::Opus,
        "pcm" => CodecId::Pcm(SampleFormat::F32),
        "vp8" => CodecId::Vp8,
        "vp9" | "vp09" => CodecId::Vp9,
        "av1" | "av01" => CodecId::Av1,
        "h264" => CodecId::H264,
        // avc1.PPCCLL: profile, constraint flags and level as six hex digits. Both are
        // recorded with the parameter sets in band: MP4 names it avc3 (mux/mp4/boxes.rs).
        "avc1" | "avc3" => {
            if !(detail.is_empty()
                || detail.len() == 6 && detail.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!(
                    "{entry:?} is not an H.264 codec string (expected {name} or {name}.PPCCLL)"
                ));
            }
            CodecId::H264
        }
        // Only AAC-LC: mp4a.40.2 (MPEG-4 audio, object type 2).
        "mp4a" if matches!(detail, "40.2" | "40.02") => CodecId::Aac,
        "aac" if detail.is_empty() => CodecId::Aac,
        "mp4a" => return Err(format!("{entry:?} is not supported (only AAC-LC, mp4a.40.2)")),
        "hvc1" | "hev1" | "h265" | "hevc" => {
            return Err(format!("video codec {entry:?} (HEVC) is not supported"))
        }
        _ => return Err(format!("codec {entry:?} is not supported")),
    };
    Ok(codec)
}

/// Why a type is not supported; the text ends up in `NotSupportedError`.
pub fn parse(type_: &str) -> Result<MimeType, String> {
    let s = type_.trim_matches(is_ascii_ws);
    if s.is_empty() {
        return Ok(MimeType {
            top: None,
            container: Container::Webm,
            audio_codec: None,
            video_codec: None,
            has_codecs: false,
        });
    }
    let (essence, params) = match s.find(';') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let essence = essence.trim_end_matches(is_ascii_ws);
    let (top, sub) = essence
        .split_once('/')
        .ok_or_else(|| format!("{type_:?} is not a MIME type (expected type/subtype)"))?;
    if !is_token(top) || !is_token(sub) {
        return Err(format!("{type_:?} is not a valid MIME type"));
    }
    let top = match top.to_ascii_lowercase().as_str() {
        "audio" => TopLevel::Audio,
        "video" => TopLevel::Video,
        other => return Err(format!("top-level type {other:?} cannot be recorded")),
    };
    let container = match (top, sub.to_ascii_lowercase().as_str()) {
        (_, "webm") => Container::Webm,
        (_, "x-matroska") => Container::Matroska,
        (_, "mp4") => Container::Mp4,
        (TopLevel::Audio, "ogg") => Container::Ogg,
        (TopLevel::Audio, "wav" | "wave" | "x-wav") => Container::Wav,
        (_, other) => {
            return Err(format!(
                "container {other:?} is not supported (supported: webm, x-matroska, mp4, and \
                 for audio ogg and wav)"
            ))
        }
    };
    let mut codecs: Option<Vec<String>> = None;
    for (name, value) in split_params(params)? {
        if name.eq_ignore_ascii_case("codecs") {
            let list = value
                .split(',')
                .map(|c| c.trim_matches(is_ascii_ws).to_ascii_lowercase())
                .collect::<Vec<_>>();
            if list.iter().any(std::string::String::is_empty) {
                return Err(format!("empty codec in {type_:?}"));
            }
            codecs = Some(list);
        }
    }
    let mut mime = MimeType {
        top: Some(top),
        container,
        audio_codec: None,
        video_codec: None,
        has_codecs: codecs.is_some(),
    };
    for entry in codecs.unwrap_or_default() {
        let codec = codec_of(&entry)?;
        if !container.holds(codec) {
            return Err(format!("{} cannot hold {entry:?}", container.subtype()));
        }
        let slot = if codec.is_video() {
            if top == TopLevel::Audio {
                return Err(format!("an audio/ type cannot hold the video codec {entry:?}"));
            }
            &mut mime.video_codec
        } else {
            &mut mime.audio_codec
        };
        if slot.replace(codec).is_some() {
            let kind = if codec.is_video() { "video" } else { "audio" };
            return Err(format!("more than one {kind} codec in {type_:?}"));
        }
    }
    Ok(mime)
}

/// Whether the recorder accepts `type_` (the constructor and `is_type_supported` always agree).
pub fn is_type_supported(type_: &str) -> bool {
    parse(type_).is_ok()
}

/// The type reported once recording starts: the constrained type when it already names its
/// codecs (kept verbatim, as Firefox does), else `type/subtype;codecs=...` for what is recorded.
/// MP4 types are completed later from the encoders' descriptions ([`with_codec_strings`]).
pub fn extended(constrained: &str, mime: &MimeType, has_audio: bool, has_video: bool) -> String {
    if mime.has_codecs && mime.container != Container::Mp4 {
        return constrained.to_string();
    }
    let mut codecs = Vec::new();
    if has_video {
        codecs.push(mime.video_codec_id().mime_name());
    }
    if has_audio {
        codecs.push(mime.audio_codec_id().mime_name());
    }
    format!(
        "{}/{};codecs={}",
        top_name(mime, has_video),
        mime.container.subtype(),
        codecs.join(",")
    )
}

fn top_name(mime: &MimeType, has_video: bool) -> &'static str {
    match mime.top {
        Some(TopLevel::Video) => "video",
        Some(TopLevel::Audio) => "audio",
        None if has_video => "video",
        None => "audio",
    }
}

/// The full codecs parameter of a recording, built from what its encoders describe (MP4
/// reports `avc1.42E01F`, not the `avc1` it was asked for, as Chrome does); None where the
/// container's type keeps the short names. AV1 in WebM and Matroska is named in full too
/// (`av01.0.04M.08`): MediaSource accepts no shorter name for it, so the reported type can be
/// handed to it as it is.
pub fn codec_strings(container: Container, tracks: &[CodecDescription]) -> Option<String> {
    let full = |d: &CodecDescription| container == Container::Mp4 || d.codec == CodecId::Av1;
    tracks.iter().any(full).then(|| {
        let names: Vec<String> = tracks
            .iter()
            .map(|d| if full(d) { codec_string(d) } else { d.codec.mime_name().to_string() })
            .collect();
        names.join(",")
    })
}

/// `extended` (a `type/subtype;codecs=...` string) with its codecs replaced by `codecs`.
pub fn with_codec_strings(extended: &str, codecs: &str) -> String {
    let essence = extended.split(';').next().unwrap_or(extended).trim_matches(is_ascii_ws);
    format!("{essence};codecs={codecs}")
}

fn is_ascii_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Splits `name=value` parameters on `;`, honouring quoted values (which may hold `;` and `,`).
fn split_params(params: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches(is_ascii_ws);
        if rest.is_empty() {
            return Ok(out);
        }
        let eq = rest.find(['=', ';']).filter(|&i| rest.as_bytes()[i] == b'=');
        let Some(eq) = eq else {
            return Err(format!(
                "parameter {:?} has no value",
                rest.split(';').next().unwrap_or("")
            ));
        };
        let name = rest[..eq].trim_end_matches(is_ascii_ws);
        if !is_token(name) {
            return Err(format!("invalid parameter name {name:?}"));
        }
        let after = rest[eq + 1..].trim_start_matches(is_ascii_ws);
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let end = end.ok_or_else(|| format!("unterminated quote in parameter {name:?}"))?;
            let tail = quoted[end..].trim_start_matches(is_ascii_ws);
            if !(tail.is_empty() || tail.starts_with(';')) {
                return Err(format!("unexpected text after the quoted value of {name:?}"));
            }
            (value, tail)
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (after[..end].trim_matches(is_ascii_ws).to_string(), &after[end..])
        };
        out.push((name.to_string(), value));
        rest = tail.strip_prefix(';').unwrap_or(tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn support_table() {
        for t in [
            "",
            "audio/webm",
            "audio/webm;codecs=opus",
            "audio/webm; codecs=\"opus\"",
            "AUDIO/WEBM;CODECS=OPUS",
            "audio/webm;codecs=opus.0",
            "video/webm",
            "video/webm;codecs=opus",
            " audio/webm ; codecs = opus ",
            "video/webm;codecs=vp8",
            "video/webm;codecs=VP9.0",
            "video/webm; codecs=\"vp8, opus\"",
            "video/webm;codecs=vp9,opus",
            "audio/ogg",
            "audio/ogg;codecs=opus",
            "audio/webm;codecs=pcm",
            "audio/wav",
            "audio/wav;codecs=pcm",
            "video/x-matroska;codecs=vp9,pcm",
            "audio/mp4",
            "audio/mp4;codecs=opus",
            "video/mp4",
            "video/mp4;codecs=vp9",
            "video/mp4;codecs=\"vp09.00.10.08, opus\"",
            "video/mp4;codecs=opus",
            "VIDEO/MP4;CODECS=VP9,OPUS",
            "video/webm;codecs=av1",
            "video/webm;codecs=av01.0.04M.08,opus",
            "video/x-matroska;codecs=avc1.42E01E,mp4a.40.2",
            "video/x-matroska;codecs=h264,opus",
            "audio/x-matroska;codecs=mp4a.40.2",
            "video/mp4;codecs=avc1",
            "video/mp4;codecs=avc3.42E01F,mp4a.40.2",
            "audio/mp4;codecs=mp4a.40.2",
            "video/mp4;codecs=av01.0.05M.08,opus",
        ] {
            assert!(is_type_supported(t), "{t:?} should be supported");
        }
        for t in [
            "audio/mp4: codecs=\"opus\"",
            "video/invalid",
            "audio/banana",
            "video/webm;codecs=daala",
            "audio/webm;codecs=vorbis",
            "audio/webm;codecs=opus,opus",
            "audio/webm;codecs=",
            "audio/webm;codecs=\"opus",
            "audio/ogg;codecs=vorbis",
            "audio/wav;codecs=opus",
            "video/ogg",
            "''",
            "audio",
            "video/webm;codecs=vp8,vp9",
            "audio/webm;codecs=vp8",
            "video/webm;codecs=h264",
            "video/mp4;codecs=vp8",
            "audio/mp4;codecs=pcm",
            "audio/mp4;codecs=vp9",
            "video/mp4;codecs=hvc1",
            "video/mp4;codecs=hev1.1.6.L93.B0",
            "video/mp4;codecs=avc1.42E0",
            "audio/mp4;codecs=mp4a.40.5",
            "audio/webm;codecs=mp4a.40.2",
            "video/mp4;codecs=vp9,av01",
            "audio/mp4;codecs=opus,opus",
            "video/webm;codecs=hvc1",
            "video/webm;codecs=avc1",
            "audio/ogg;codecs=mp4a.40.2",
        ] {
            assert!(!is_type_supported(t), "{t:?} should not be supported");
        }
    }

    /// H.264, AV1 and AAC types parse, and are supported exactly when this build encodes them.
    #[test]
    fn types_follow_the_encoders_of_this_build() {
        for (t, codec) in [
            ("video/mp4;codecs=avc1", CodecId::H264),
            ("video/mp4;codecs=avc1.42E01E,opus", CodecId::H264),
            ("video/mp4;codecs=avc3.640028", CodecId::H264),
            ("video/mp4;codecs=av01", CodecId::Av1),
            ("video/mp4;codecs=av01.0.04M.08,mp4a.40.2", CodecId::Av1),
            ("video/webm;codecs=av1", CodecId::Av1),
            ("video/webm;codecs=av01,opus", CodecId::Av1),
            ("video/x-matroska;codecs=avc1", CodecId::H264),
            ("audio/mp4;codecs=mp4a.40.2", CodecId::Aac),
            ("video/mp4;codecs=vp9,mp4a.40.02", CodecId::Aac),
        ] {
            assert!(is_type_supported(t), "{t:?} ({codec:?})");
        }
        let m = parse("video/mp4").unwrap();
        assert_eq!((m.video_codec_id(), m.audio_codec_id()), (CodecId::H264, CodecId::Opus));
    }

    #[test]
    fn mp4_types_report_the_full_codec_strings() {
        use crate::core::codec::StreamParams;
        let m = parse("video/mp4;codecs=vp9,opus").unwrap();
        let short = extended("video/mp4;codecs=vp9,opus", &m, true, true);
        assert_eq!(short, "video/mp4;codecs=vp9,opus");
        let d = |track, codec, params| CodecDescription {
            track,
            codec,
            params,
            private: Vec::new(),
            delay_ns: 0,
            seek_pre_roll_ns: 0,
            time_base: (1, 1000),
        };
        let tracks = [
            d(0, CodecId::Vp9, StreamParams::Video { width: 1280, height: 720 }),
            d(1, CodecId::Opus, StreamParams::Audio { sample_rate: 48_000, channels: 2 }),
        ];
        let codecs = codec_strings(Container::Mp4, &tracks).unwrap();
        assert_eq!(with_codec_strings(&short, &codecs), "video/mp4;codecs=vp09.00.31.08,opus");
        assert_eq!(codec_strings(Container::Webm, &tracks), None);
        // AV1 is named in full in WebM too (av1C: main profile, level 4.0, main tier, 8 bit).
        let mut av1 = d(0, CodecId::Av1, StreamParams::Video { width: 1280, height: 720 });
        av1.private = vec![0x81, 0x08, 0x0C, 0x00];
        let tracks = [av1, tracks[1].clone()];
        let codecs = codec_strings(Container::Webm, &tracks).unwrap();
        assert_eq!(codecs, "av01.0.08M.08,opus");
    }

    #[test]
    fn extension() {
        let m = parse("").unwrap();
        assert_eq!(extended("", &m, true, false), "audio/webm;codecs=opus");
        let m = parse("video/webm").unwrap();
        assert_eq!(extended("video/webm", &m, true, false), "video/webm;codecs=opus");
        let m = parse("").unwrap();
        assert_eq!(extended("", &m, true, true), "video/webm;codecs=vp8,opus");
        assert_eq!(extended("", &m, false, true), "video/webm;codecs=vp8");
        let m = parse("video/webm;codecs=vp9").unwrap();
        assert_eq!(extended("video/webm;codecs=vp9", &m, false, true), "video/webm;codecs=vp9");
        let t = "audio/webm; codecs=\"opus\"";
        assert_eq!(extended(t, &parse(t).unwrap(), true, false), t);
    }
}
