//! MIME type parsing and the support table (reference §3).
//!
//! Parsing follows what browsers accept rather than strict RFC 7231: case-insensitive type,
//! subtype and parameter names, quoted or unquoted `codecs` lists (`codecs=vp8,opus`), and codec
//! identifiers compared by the lowercased part before the first `.` (`VP8`, `vp8.0`).

use crate::core::codec::{CodecId, SampleFormat};
use crate::core::encode::supports;

/// The top-level type of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopLevel {
    Audio,
    Video,
}

/// An audio codec this build can encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Opus,
    /// Uncompressed: 32-bit float in WebM/Matroska, 16-bit integer in WAV.
    Pcm,
    /// AAC-LC.
    Aac,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcm => "pcm",
            Codec::Aac => "mp4a.40.2",
        }
    }
}

/// A container this build can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Webm,
    Matroska,
    Ogg,
    Wav,
}

impl Container {
    fn subtype(self) -> &'static str {
        match self {
            Container::Webm => "webm",
            Container::Matroska => "x-matroska",
            Container::Ogg => "ogg",
            Container::Wav => "wav",
        }
    }

    /// The audio codec used when the type names none.
    fn default_audio(self) -> Codec {
        match self {
            Container::Wav => Codec::Pcm,
            _ => Codec::Opus,
        }
    }

    fn holds(self, codec: Codec) -> bool {
        match self {
            Container::Webm => codec != Codec::Aac,
            Container::Matroska => true,
            Container::Ogg => codec == Codec::Opus,
            Container::Wav => codec == Codec::Pcm,
        }
    }

    /// How this container stores uncompressed audio.
    pub fn pcm_format(self) -> SampleFormat {
        match self {
            Container::Wav => SampleFormat::S16,
            _ => SampleFormat::F32,
        }
    }

    pub fn holds_video(self) -> bool {
        matches!(self, Container::Webm | Container::Matroska)
    }

    /// Whether this container can hold the video codec `c` (WebM: VP8, VP9, AV1).
    fn holds_video_codec(self, c: CodecId) -> bool {
        match self {
            Container::Webm => matches!(c, CodecId::Vp8 | CodecId::Vp9 | CodecId::Av1),
            Container::Matroska => c.is_video(),
            Container::Ogg | Container::Wav => false,
        }
    }
}

/// A parsed, supported MIME type. An empty type parses to `top = None` (the recorder chooses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    pub top: Option<TopLevel>,
    pub container: Container,
    pub audio_codec: Option<Codec>,
    pub video_codec: Option<CodecId>,
    pub has_codecs: bool,
}

impl MimeType {
    pub fn audio(&self) -> Codec {
        self.audio_codec.unwrap_or(self.container.default_audio())
    }

    /// What an audio track of this type is encoded as.
    pub fn audio_codec_id(&self) -> CodecId {
        match self.audio() {
            Codec::Opus => CodecId::Opus,
            Codec::Pcm => CodecId::Pcm(self.container.pcm_format()),
            Codec::Aac => CodecId::Aac,
        }
    }

    /// What a video track of this type is encoded as (VP8 unless the type says otherwise).
    pub fn video_codec_id(&self) -> CodecId {
        self.video_codec.unwrap_or(CodecId::Vp8)
    }
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
        (TopLevel::Audio, "ogg") => Container::Ogg,
        (TopLevel::Audio, "wav" | "wave" | "x-wav") => Container::Wav,
        (_, other) => {
            return Err(format!(
                "container {other:?} is not supported (supported: webm, x-matroska, and for \
                 audio ogg and wav)"
            ))
        }
    };
    let mut codecs: Option<Vec<String>> = None;
    for (name, value) in split_params(params)? {
        if name.eq_ignore_ascii_case("codecs") {
            let list = value
                .split(',')
                .map(|c| c.trim_matches(is_ascii_ws))
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>();
            if list.iter().any(|c| c.split('.').next().unwrap_or("").is_empty()) {
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
    for full in codecs.unwrap_or_default() {
        // Compared by the part before the first `.`, except AAC, whose profile it names.
        let codec = full.split('.').next().unwrap_or("").to_string();
        let video = match codec.as_str() {
            "vp8" => Some(CodecId::Vp8),
            "vp9" => Some(CodecId::Vp9),
            "av1" | "av01" => Some(CodecId::Av1),
            "avc1" | "h264" => Some(CodecId::H264),
            _ => None,
        };
        let audio = match (codec.as_str(), full.as_str()) {
            ("opus", _) => Some(Codec::Opus),
            ("pcm", _) => Some(Codec::Pcm),
            (_, "mp4a.40.2" | "aac") if supports(CodecId::Aac) => Some(Codec::Aac),
            _ => None,
        };
        match (audio, video) {
            (Some(c), _) => {
                if !container.holds(c) {
                    return Err(format!("{} cannot hold {codec:?}", container.subtype()));
                }
                if mime.audio_codec.replace(c).is_some() {
                    return Err(format!("more than one audio codec in {type_:?}"));
                }
            }
            (None, Some(c)) if supports(c) => {
                if top == TopLevel::Audio {
                    return Err(format!("an audio/ type cannot hold the video codec {codec:?}"));
                }
                if !container.holds_video_codec(c) {
                    return Err(format!("{} cannot hold {codec:?}", container.subtype()));
                }
                if mime.video_codec.replace(c).is_some() {
                    return Err(format!("more than one video codec in {type_:?}"));
                }
            }
            (None, _) if matches!(codec.as_str(), "avc3" | "hvc1" | "hev1") || video.is_some() => {
                return Err(format!("video codec {codec:?} is not supported by this build"))
            }
            _ => return Err(format!("codec {full:?} is not supported")),
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
pub fn extended(constrained: &str, mime: &MimeType, has_audio: bool, has_video: bool) -> String {
    if mime.has_codecs {
        return constrained.to_string();
    }
    let top = match mime.top {
        Some(TopLevel::Video) => "video",
        Some(TopLevel::Audio) => "audio",
        None if has_video => "video",
        None => "audio",
    };
    let mut codecs = Vec::new();
    if has_video {
        codecs.push(mime.video_codec_id().mime_name());
    }
    if has_audio {
        codecs.push(mime.audio().name());
    }
    format!("{top}/{};codecs={}", mime.container.subtype(), codecs.join(","))
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
            "video/webm;codecs=av1",
            "video/webm;codecs=av01.0.04M.08,opus",
            "video/x-matroska;codecs=avc1.42E01E,mp4a.40.2",
            "video/x-matroska;codecs=h264,opus",
            "audio/x-matroska;codecs=aac",
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
            "video/webm;codecs=avc1",
            "audio/webm;codecs=mp4a.40.2",
            "audio/x-matroska;codecs=mp4a.40.5",
            "audio/x-matroska;codecs=av1",
            "video/x-matroska;codecs=avc3",
            "video/x-matroska;codecs=av1,h264",
        ] {
            assert!(!is_type_supported(t), "{t:?} should not be supported");
        }
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
