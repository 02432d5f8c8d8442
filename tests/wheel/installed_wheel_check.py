"""Run inside a minimal Debian root (scripts/wheel/test.sh) with only the installed wheel, NumPy
and PyAV: records through the public API with every encoder the wheel carries (VP8, VP9, AV1,
H.264, Opus, AAC) and checks the results by decoding them.

    python installed_wheel_check.py --no-libasound   # the root has no sound stack
    python installed_wheel_check.py --device         # a private PulseAudio server plays a tone
    python installed_wheel_check.py --pipewire       # libpipewire is installed: the screen-cast
                                                     # plugin loads (--no-pipewire: it is named)

Kept to Python 3.9 syntax: Debian 11's python3 runs it. Exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import av
import mediarecorder as mr
import numpy as np

RATE = 48000
TONE_HZ = 440.0
DEVICE_TONE_HZ = 1000.0
COLOUR = (200, 40, 90)


def record(tracks: list, mime_type: str, feed) -> bytes:
    """Records ``tracks`` while ``feed()`` writes to their sources; returns the whole file."""
    rec = mr.MediaRecorder(mr.MediaStream(tracks), mime_type=mime_type)
    chunks: list = []
    stopped = threading.Event()
    errors: list = []
    rec.ondataavailable = lambda e: chunks.append(bytes(e.data))
    rec.onerror = lambda e: errors.append(e.error)
    rec.onstop = lambda e: stopped.set()
    rec.start()
    feed()
    rec.stop()
    assert stopped.wait(30), "no stop event within 30 s"
    assert not errors, errors
    return b"".join(chunks)


def sine(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def decode_audio(path: Path) -> tuple:
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        name = stream.codec_context.name
        pcm = np.concatenate([f.to_ndarray().reshape(-1, f.samples)[0] for f in c.decode(stream)])
    return name, pcm


def peak_hz(pcm: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * rate / len(pcm))


def check_numpy_audio(out: Path, mime_type: str, suffix: str, codec: str) -> None:
    source = mr.AudioSource(RATE, 1)
    signal = sine(TONE_HZ, 1.0)

    def feed() -> None:
        for i in range(0, len(signal), 960):
            source.write(signal[i : i + 960])

    data = record([source.track], mime_type, feed)
    path = out / f"numpy-audio-{codec}.{suffix}"
    path.write_bytes(data)
    check_tone(path, codec)


def check_tone(path: Path, codec: str) -> None:
    """The file's audio decodes with ``codec`` to one second of the written tone."""
    name, pcm = decode_audio(path)
    assert name == codec, f"{path.name}: audio decoder {name}, want {codec}"
    assert abs(len(pcm) / RATE - 1.0) < 0.05, f"{path.name}: decoded {len(pcm) / RATE:.3f} s of 1 s"
    # The first tenth is skipped: an encoder's ramp-in would smear the spectrum.
    hz = peak_hz(pcm[RATE // 10 :])
    assert abs(hz - TONE_HZ) < 3, f"{path.name}: decoded tone at {hz:.1f} Hz, wrote {TONE_HZ} Hz"
    print(f"ok {path.name}: {codec}, {len(pcm) / RATE:.3f} s, tone at {hz:.1f} Hz")


# FFmpeg decoders per codec: PyAV's FFmpeg decodes AV1 with libdav1d where it carries it (both
# PyAV wheels the roots install do), with libaom or its own decoder otherwise.
VIDEO_DECODERS = {
    "vp8": ("vp8",),
    "vp9": ("vp9",),
    "h264": ("h264",),
    "av1": ("libdav1d", "libaom-av1", "av1"),
}


def check_av(out: Path, mime_type: str, suffix: str, video_codec: str, audio_codec: str) -> None:
    video = mr.VideoSource(160, 120, frame_rate=30.0)
    sound = mr.AudioSource(RATE, 1)
    frame = np.empty((120, 160, 3), np.uint8)
    frame[:] = COLOUR
    signal = sine(TONE_HZ, 1.0)

    def feed() -> None:
        for i in range(30):
            video.write(frame)
            sound.write(signal[i * 1600 : (i + 1) * 1600])

    data = record([video.track, sound.track], mime_type, feed)
    path = out / f"av-{video_codec}-{audio_codec}.{suffix}"
    path.write_bytes(data)
    with av.open(str(path)) as c:
        decoder = c.streams.video[0].codec_context.name
        assert decoder in VIDEO_DECODERS[video_codec], f"{path.name}: video decoder {decoder}"
        pictures = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(pictures) == 30, f"{path.name}: decoded {len(pictures)} frames of 30"
    for i in (0, 15, 29):
        mean = pictures[i].reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(mean - COLOUR) < 8), f"{path.name}: frame {i} {mean}, wrote {COLOUR}"
    print(f"ok {path.name}: {decoder}, 30 frames, colour {mean.round(1).tolist()}")
    check_tone(path, audio_codec)


def check_no_libasound() -> None:
    for call in (mr.enumerate_devices, lambda: mr.get_user_media(audio=True)):
        try:
            call()
        except mr.NotReadableError as e:
            assert "libasound.so.2" in str(e) and "libasound2" in str(e), str(e)
        else:
            raise AssertionError("a device call worked without libasound")
    print("ok without libasound: device calls raise NotReadableError naming libasound2")


def check_screencast(pipewire: bool) -> None:
    """The wheel's screen-cast plugin: where libpipewire is installed it loads and runs (and, with
    no session bus here, finds no portal); where it is not, the error names the library."""
    plugin = Path(mr.__file__).parent / "libmediarecorder_screencast.so"
    assert plugin.is_file(), f"{plugin} is not in the wheel"
    os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
    os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="no-bus-")
    try:
        mr.get_display_media(video={"backend": "wayland"})
    except mr.NotSupportedError as e:
        message = str(e)
    else:
        raise AssertionError("a Wayland capture started without a portal")
    if pipewire:
        assert "no screen-cast portal" in message, message
        print(f"ok screen-cast plugin: loads with libpipewire, then {message!r}")
    else:
        assert "libpipewire-0.3.so.0" in message and "libpipewire-0.3-0" in message, message
        print("ok screen-cast plugin without libpipewire: NotSupportedError names libpipewire")


def check_device(out: Path) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="pulse-"))
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    tone = runtime / "tone.wav"
    pcm16 = (sine(DEVICE_TONE_HZ, 30.0) * 32767).astype(np.int16)
    with wave.open(str(tone), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.column_stack([pcm16, pcm16]).tobytes())
    subprocess.run(
        ["pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1"]
        + ["-L", "module-native-protocol-unix"]
        + ["-L", f"module-null-sink sink_name=vsink rate={RATE} channels=2"],
        env=env,
        check=True,
    )
    player = None
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode:
            assert time.monotonic() < deadline, "PulseAudio did not come up within 10 s"
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=env, check=True)
        player = subprocess.Popen(["paplay", "-d", "vsink", str(tone)], env=env)
        inputs = [d for d in mr.enumerate_devices() if d.kind == "audioinput"]
        assert inputs, "no audio input device through PulseAudio"
        stream = mr.get_user_media(audio=True)
        # The first callback can come well over a second after the stream starts.
        result = mr.record(stream, out / "device.webm", 5.0, mime_type="audio/webm;codecs=opus")
        for track in stream.get_tracks():
            track.stop()
        codec, pcm = decode_audio(result.path)
        assert codec == "opus", codec
        assert len(pcm) / RATE > 0.5, f"only {len(pcm) / RATE:.2f} s captured"
        tail = pcm[-RATE // 2 :]
        hz = peak_hz(tail)
        level = float(np.sqrt(np.mean(tail**2)))
        assert abs(hz - DEVICE_TONE_HZ) < 5, f"captured tone at {hz:.1f} Hz"
        assert level > 0.1, f"captured level {level:.3f}: silence"
        print(f"ok device: {len(pcm) / RATE:.2f} s through PulseAudio, tone at {hz:.1f} Hz")
    finally:
        if player is not None:
            player.kill()
            player.wait()
        subprocess.run(["pulseaudio", "--kill"], env=env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-libasound", action="store_true")
    ap.add_argument("--device", action="store_true")
    pipewire = ap.add_mutually_exclusive_group()
    pipewire.add_argument("--pipewire", action="store_true")
    pipewire.add_argument("--no-pipewire", action="store_true")
    args = ap.parse_args()
    print(f"Python {sys.version.split()[0]}, mediarecorder {mr.__version__}, PyAV {av.__version__}")
    out = Path(tempfile.mkdtemp(prefix="wheel-check-"))
    check_numpy_audio(out, "audio/webm;codecs=opus", "webm", "opus")
    check_numpy_audio(out, "audio/mp4;codecs=mp4a.40.2", "mp4", "aac")
    check_av(out, "video/webm;codecs=vp8,opus", "webm", "vp8", "opus")
    check_av(out, "video/webm;codecs=vp9,opus", "webm", "vp9", "opus")
    check_av(out, "video/mp4;codecs=avc1.42E01E,mp4a.40.2", "mp4", "h264", "aac")
    check_av(out, "video/webm;codecs=av1,opus", "webm", "av1", "opus")
    if args.no_libasound:
        check_no_libasound()
    if args.pipewire or args.no_pipewire:
        check_screencast(args.pipewire)
    if args.device:
        check_device(out)


if __name__ == "__main__":
    main()
