//! A thin safe wrapper over libvo-aacenc (VisualOn's AAC-LC encoder, Apache-2.0; Debian's
//! libvo-aacenc-dev), declared by hand: the library has no -sys crate and we use six entry
//! points. `build.rs` links it (pkg-config), so static linking is decided there.
//!
//! The encoder takes 1024 frames of interleaved 16-bit PCM per call and returns one raw
//! access unit (no ADTS).

use std::os::raw::{c_int, c_long, c_short, c_ulong, c_void};
use std::ptr;

use crate::core::{Error, Result};

/// Frames per AAC-LC access unit.
pub const FRAME: usize = 1024;

type Handle = *mut c_void;

#[repr(C)]
struct CodecBuffer {
    buffer: *mut u8,
    length: c_ulong,
    time: i64,
}

#[repr(C)]
struct AudioFormat {
    sample_rate: c_long,
    channels: c_long,
    sample_bits: c_long,
}

#[repr(C)]
struct OutputInfo {
    format: AudioFormat,
    input_used: c_ulong,
    reserved: c_ulong,
}

#[repr(C)]
struct EncParam {
    sample_rate: c_int,
    bit_rate: c_int,
    channels: c_short,
    adts_used: c_short,
}

/// `VO_AUDIO_CODECAPI`: a table of function pointers filled by `voGetAACEncAPI`.
#[repr(C)]
struct CodecApi {
    init: Option<unsafe extern "C" fn(*mut Handle, c_int, *mut c_void) -> c_ulong>,
    set_input_data: Option<unsafe extern "C" fn(Handle, *mut CodecBuffer) -> c_ulong>,
    get_output_data:
        Option<unsafe extern "C" fn(Handle, *mut CodecBuffer, *mut OutputInfo) -> c_ulong>,
    set_param: Option<unsafe extern "C" fn(Handle, c_long, *mut c_void) -> c_ulong>,
    get_param: Option<unsafe extern "C" fn(Handle, c_long, *mut c_void) -> c_ulong>,
    uninit: Option<unsafe extern "C" fn(Handle) -> c_ulong>,
}

/// `VO_MEM_OPERATOR`: the allocator the library calls; filled with its own `cmnMem*` functions
/// (as FFmpeg's wrapper did), since Init refuses to run without one.
#[repr(C)]
struct MemOperator {
    alloc: unsafe extern "C" fn(c_long, *mut c_void) -> c_ulong,
    free: unsafe extern "C" fn(c_long, *mut c_void) -> c_ulong,
    set: unsafe extern "C" fn(c_long, *mut c_void, u8, c_ulong) -> c_ulong,
    copy: unsafe extern "C" fn(c_long, *mut c_void, *mut c_void, c_ulong) -> c_ulong,
    check: unsafe extern "C" fn(c_long, *mut c_void, c_ulong) -> c_ulong,
    compare: unsafe extern "C" fn(c_long, *mut c_void, *mut c_void, c_ulong) -> c_long,
    move_: unsafe extern "C" fn(c_long, *mut c_void, *mut c_void, c_ulong) -> c_ulong,
}

/// `VO_CODEC_INIT_USERDATA`.
#[repr(C)]
struct InitUserData {
    memflag: c_int,
    mem_data: *mut c_void,
    reserved1: c_ulong,
    reserved2: c_ulong,
}

const VO_IMF_USERMEMOPERATOR: c_int = 0;
const VO_AUDIO_CODING_AAC: c_int = 8;
const VO_PID_AAC_ENCPARAM: c_long = 0x4221_1040;
const VO_ERR_NONE: c_ulong = 0;

extern "C" {
    fn voGetAACEncAPI(api: *mut CodecApi) -> c_long;
    fn cmnMemAlloc(id: c_long, info: *mut c_void) -> c_ulong;
    fn cmnMemFree(id: c_long, p: *mut c_void) -> c_ulong;
    fn cmnMemSet(id: c_long, p: *mut c_void, v: u8, n: c_ulong) -> c_ulong;
    fn cmnMemCopy(id: c_long, d: *mut c_void, s: *mut c_void, n: c_ulong) -> c_ulong;
    fn cmnMemCheck(id: c_long, p: *mut c_void, n: c_ulong) -> c_ulong;
    fn cmnMemCompare(id: c_long, a: *mut c_void, b: *mut c_void, n: c_ulong) -> c_long;
    fn cmnMemMove(id: c_long, d: *mut c_void, s: *mut c_void, n: c_ulong) -> c_ulong;
}

/// The sample rates AAC's sampling-frequency index can name (ISO 14496-3 §1.6.3.4), in index
/// order; libvo-aacenc takes exactly these.
pub const RATES: [u32; 12] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];

/// Whether libvo-aacenc encodes `channels` channels (mono and stereo only).
pub fn check_channels(channels: u16) -> Result<()> {
    if (1..=2).contains(&channels) {
        Ok(())
    } else {
        Err(Error::NotSupported(format!(
            "AAC (libvo-aacenc) encodes 1 or 2 channels, not {channels}"
        )))
    }
}

pub struct VoAac {
    api: CodecApi,
    handle: Handle,
    channels: usize,
    out: Vec<u8>,
    /// Kept alive for the handle, which may keep the pointer.
    _mem: Box<MemOperator>,
}

// SAFETY: the handle is owned by this value and used only through `&mut self`; the library
// keeps its state in the handle, none in thread-locals.
unsafe impl Send for VoAac {}

impl VoAac {
    /// An AAC-LC encoder; `rate` must be one of [`RATES`], `channels` 1 or 2.
    pub fn new(rate: u32, channels: u16, bits_per_second: u32) -> Result<Self> {
        check_channels(channels)?;
        if !RATES.contains(&rate) {
            return Err(Error::NotSupported(format!(
                "AAC (libvo-aacenc) encodes at {RATES:?} Hz, not {rate}"
            )));
        }
        let mut api = CodecApi {
            init: None,
            set_input_data: None,
            get_output_data: None,
            set_param: None,
            get_param: None,
            uninit: None,
        };
        // SAFETY: fills the table with the library's static entry points.
        let r = unsafe { voGetAACEncAPI(&mut api) };
        let (Some(init), Some(set_param), Some(uninit)) = (api.init, api.set_param, api.uninit)
        else {
            return Err(Error::Encoding(format!("voGetAACEncAPI failed ({r})")));
        };
        let mut handle: Handle = ptr::null_mut();
        let mut mem = Box::new(MemOperator {
            alloc: cmnMemAlloc,
            free: cmnMemFree,
            set: cmnMemSet,
            copy: cmnMemCopy,
            check: cmnMemCheck,
            compare: cmnMemCompare,
            move_: cmnMemMove,
        });
        let mut user = InitUserData {
            memflag: VO_IMF_USERMEMOPERATOR,
            mem_data: (mem.as_mut() as *mut MemOperator).cast(),
            reserved1: 0,
            reserved2: 0,
        };
        // SAFETY: the user data names the library's own allocator functions; `mem` is boxed
        // and lives as long as the handle.
        let r = unsafe {
            init(&mut handle, VO_AUDIO_CODING_AAC, (&mut user as *mut InitUserData).cast())
        };
        if r != VO_ERR_NONE || handle.is_null() {
            return Err(Error::Encoding(format!("AAC encoder Init failed ({r:#x})")));
        }
        // The library rejects more than 6 bits per sample and channel; AAC-LC needs ~8 kb/s.
        let max = 6 * rate * channels as u32;
        let mut param = EncParam {
            sample_rate: rate as c_int,
            bit_rate: bits_per_second.clamp(8_000 * channels as u32, max).min(320_000) as c_int,
            channels: channels as c_short,
            adts_used: 0,
        };
        // SAFETY: the handle is live; the parameter is the AACENC_PARAM the ID names.
        let r =
            unsafe { set_param(handle, VO_PID_AAC_ENCPARAM, (&mut param as *mut EncParam).cast()) };
        if r != VO_ERR_NONE {
            // SAFETY: initialised above, released once.
            unsafe { uninit(handle) };
            return Err(Error::Encoding(format!(
                "AAC encoder rejected {rate} Hz, {channels} channels, {} b/s ({r:#x})",
                param.bit_rate
            )));
        }
        Ok(VoAac {
            api,
            handle,
            channels: channels as usize,
            out: vec![0; 768 * 2 + 64],
            _mem: mem,
        })
    }

    /// Encodes one access unit from exactly [`FRAME`] interleaved frames.
    pub fn encode(&mut self, pcm: &mut [i16]) -> Result<Vec<u8>> {
        assert_eq!(pcm.len(), FRAME * self.channels, "one AAC frame of input");
        let (Some(set_input), Some(get_output)) =
            (self.api.set_input_data, self.api.get_output_data)
        else {
            return Err(Error::Encoding("AAC encoder has no encode entry points".into()));
        };
        let mut input = CodecBuffer {
            buffer: pcm.as_mut_ptr().cast(),
            length: std::mem::size_of_val(pcm) as c_ulong,
            time: 0,
        };
        // SAFETY: the handle is live; the buffer outlives the GetOutputData call below, which
        // consumes all of it (one whole frame).
        let r = unsafe { set_input(self.handle, &mut input) };
        if r != VO_ERR_NONE {
            return Err(Error::Encoding(format!("AAC SetInputData failed ({r:#x})")));
        }
        let mut output = CodecBuffer {
            buffer: self.out.as_mut_ptr(),
            length: self.out.len() as c_ulong,
            time: 0,
        };
        let mut info = OutputInfo {
            format: AudioFormat { sample_rate: 0, channels: 0, sample_bits: 0 },
            input_used: 0,
            reserved: 0,
        };
        // SAFETY: `output` describes our buffer (768 bytes per channel: AAC's maximum access
        // unit); `info` is a valid out-parameter.
        let r = unsafe { get_output(self.handle, &mut output, &mut info) };
        if r != VO_ERR_NONE {
            return Err(Error::Encoding(format!("AAC GetOutputData failed ({r:#x})")));
        }
        Ok(self.out[..(output.length as usize).min(self.out.len())].to_vec())
    }
}

impl Drop for VoAac {
    fn drop(&mut self) {
        if let Some(uninit) = self.api.uninit {
            // SAFETY: initialised in `new`, released once.
            unsafe { uninit(self.handle) };
        }
    }
}

/// The two-byte `AudioSpecificConfig` of AAC-LC (object type 2) at `rate` with `channels`.
pub fn audio_specific_config(rate: u32, channels: u16) -> Vec<u8> {
    let index = RATES.iter().position(|&r| r == rate).unwrap_or(3) as u16;
    let v: u16 = (2 << 11) | (index << 7) | ((channels & 0xF) << 3);
    v.to_be_bytes().to_vec()
}
