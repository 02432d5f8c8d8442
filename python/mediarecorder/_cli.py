"""The command line: ``mediarecorder devices``, ``mediarecorder record``, ``mediarecorder demo``.

Run as ``mediarecorder ...`` (the console script) or ``python -m mediarecorder ...``. Exit
codes: 0 done (a recording stopped with Ctrl-C included), 1 a runtime error (no such device,
the device cannot be opened, an unsupported type, a file that cannot be written), 2 a usage
error, 130 a second Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

try:
    from rich import box
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table
    from rich.text import Text
except ImportError:  # the [cli] extra is not installed: main() says so
    _HAS_RICH = False
else:
    _HAS_RICH = True

from ._capture import get_display_media
from ._devices import enumerate_devices, get_user_media
from ._errors import DOMException
from ._record import record as record_to_file
from ._recorder import MediaRecorder
from ._sources import AudioSource, TestPatternSource, ToneSource
from ._stream import MediaStream, MediaStreamTrack

__all__ = ["main"]

PROG = "mediarecorder"
#: ms of media per chunk while recording from the command line.
_TIMESLICE = 250
#: Seconds between two updates of the live line.
_REFRESH = 0.25
#: The meter's scale, in dBFS.
_METER_FLOOR = -60.0
_METER_CELLS = 12
#: How long a device may take to deliver its first samples before recording starts anyway.
_DEVICE_TIMEOUT = 5.0

log = logging.getLogger("mediarecorder")


class _UsageError(Exception):
    """An argument the library refused (a ``ValueError``): exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    code. Usage errors exit 2 through ``SystemExit`` (argparse)."""
    if not _HAS_RICH:
        print(
            f"{PROG}: error: the command line needs rich, which is not installed: "
            "pip install 'mediarecorder[cli]'",
            file=sys.stderr,
        )
        return 1
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except _UsageError as exc:
        args.subparser.error(str(exc))
    except (DOMException, OSError) as exc:
        _error(exc)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 0  # not reached: ArgumentParser.error exits


def _error(exc: BaseException) -> None:
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    print(f"{PROG}: error: {message}", file=sys.stderr)


# -- arguments -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Record microphones, cameras, the screen, tones and test patterns to "
        "WebM, Ogg or WAV with the browser's MediaRecorder.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    devices = commands.add_parser("devices", help="list the sound devices and cameras")
    devices.set_defaults(run=_devices, subparser=devices)

    rec = commands.add_parser(
        "record",
        help="record to a file",
        description="Record a microphone or a tone, and a camera, the screen or a test "
        "pattern, to a seekable file. Without --duration, records until Ctrl-C, which "
        "finishes the file.",
    )
    rec.add_argument(
        "--device",
        nargs="?",
        const="",
        metavar="ID",
        help="record a microphone: the default one, or the device_id that "
        "`mediarecorder devices` lists",
    )
    rec.add_argument("--tone", type=_frequency, metavar="HZ", help="record a live sine tone")
    rec.add_argument(
        "--pattern", type=_size, metavar="WxH", help="record a live test pattern (e.g. 640x480)"
    )
    rec.add_argument(
        "--screen",
        nargs="?",
        const=(),
        type=_size,
        metavar="WxH",
        help="record the X11 screen ($DISPLAY), at its size or downscaled to WxH",
    )
    rec.add_argument(
        "--camera",
        nargs="?",
        const="",
        metavar="ID",
        help="record a camera: the first one, or the device_id that `mediarecorder devices` lists",
    )
    rec.add_argument(
        "--duration", type=_seconds, metavar="SECONDS", help="stop after this long (wall time)"
    )
    rec.add_argument(
        "--mime",
        default="",
        metavar="TYPE",
        help="MIME type, e.g. audio/ogg or 'video/webm;codecs=vp9,opus' (default: WebM)",
    )
    rec.add_argument("--audio-bitrate", type=_bitrate, metavar="BPS", help="e.g. 96000 or 96k")
    rec.add_argument("--video-bitrate", type=_bitrate, metavar="BPS", help="e.g. 2500000 or 2.5M")
    rec.add_argument("-o", "--output", required=True, metavar="PATH", help="the file to write")
    rec.set_defaults(run=_record, subparser=rec)

    demo = commands.add_parser(
        "demo",
        help="record the demo files",
        description="Records 3 s of a live tone (demo.webm), 3 s of a NumPy sine "
        "(demo-numpy.webm) and 3 s of a live test pattern with a tone (demo-av.webm), then "
        "says what was written.",
    )
    demo.add_argument("--dir", type=Path, default=Path("."), help="where to write (default: here)")
    demo.set_defaults(run=_demo, subparser=demo)
    return parser


def _frequency(text: str) -> float:
    value = _float(text)
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"expected a frequency in Hz > 0, got {text!r}")
    return value


def _seconds(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit()):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}")
    return int(w), int(h)


def _bitrate(text: str) -> int:
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected bits per second such as 128000 or 128k, got {text!r}"
        ) from None
    if not (math.isfinite(value) and 0 < value * scale < 2**32):
        raise argparse.ArgumentTypeError(f"expected a bitrate > 0, got {text!r}")
    return int(round(value * scale))


# -- devices ---------------------------------------------------------------------------------


def _devices(args: argparse.Namespace) -> int:
    devices = enumerate_devices()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("kind", no_wrap=True)
    table.add_column("label", overflow="fold")
    table.add_column("device_id", no_wrap=True)
    table.add_column("group_id", no_wrap=True)
    for d in devices:
        table.add_row(d.kind, d.label, d.device_id, d.group_id)
    console = Console()
    if console.is_terminal:
        console.print(table)
    else:
        # A pipe or a file: plain text, no wrapping whatever the width, no trailing blanks.
        console = Console(width=10_000, no_color=True)
        with console.capture() as captured:
            console.print(table)
        for line in captured.get().splitlines():
            print(line.rstrip())
    if not any(d.kind != "videoinput" for d in devices):
        print("(no sound devices)")
    if not any(d.kind == "videoinput" for d in devices):
        print("(no cameras)")
    return 0


# -- record ----------------------------------------------------------------------------------


def _record(args: argparse.Namespace) -> int:
    video = [args.pattern, args.screen, args.camera]
    if args.device is None and args.tone is None and all(v is None for v in video):
        args.subparser.error(
            "nothing to record: give --device or --tone, and/or --camera, --screen or --pattern"
        )
    if args.device is not None and args.tone is not None:
        args.subparser.error("--device and --tone are both audio: give one of them")
    if sum(v is not None for v in video) > 1:
        args.subparser.error("--pattern, --screen and --camera are all video: give one of them")
    stream = _open_stream(args)
    try:
        try:
            rec = MediaRecorder(
                stream,
                mime_type=args.mime,
                audio_bits_per_second=args.audio_bitrate,
                video_bits_per_second=args.video_bitrate,
            )
        except ValueError as exc:
            raise _UsageError(str(exc)) from exc
        return _run_recording(rec, stream, Path(args.output), args.duration)
    finally:
        for track in stream.get_tracks():
            track.stop()


def _open_stream(args: argparse.Namespace) -> MediaStream:
    tracks: list[MediaStreamTrack] = []
    try:
        if args.pattern is not None:
            width, height = args.pattern
            tracks.append(TestPatternSource(width, height).track)
        if args.tone is not None:
            tracks.append(ToneSource(args.tone).track)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    try:
        if args.screen is not None:
            size = dict(zip(("width", "height"), args.screen))
            tracks.extend(get_display_media(video=size or True).get_tracks())
        if args.camera is not None:
            camera: bool | dict[str, Any] = {"device_id": args.camera} if args.camera else True
            tracks.extend(get_user_media(video=camera).get_tracks())
        if args.device is not None:
            audio: bool | dict[str, Any] = {"device_id": args.device} if args.device else True
            tracks.extend(get_user_media(audio=audio).get_tracks())
    except BaseException:
        for t in tracks:
            t.stop()
        raise
    return MediaStream(tracks)


class _Interrupt:
    """The first Ctrl-C (SIGINT) asks the recording to finish; a second one interrupts."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _run_recording(
    rec: MediaRecorder, stream: MediaStream, output: Path, duration: float | None
) -> int:
    audio = stream.get_audio_tracks()
    video = stream.get_video_tracks()
    errors: list[DOMException] = []
    recorded_type: list[str] = []

    def on_data(event: Any) -> None:
        # A chunk's type is the recorded one, also when the session ended before ``start``.
        if event.data.type and not recorded_type:
            recorded_type.append(event.data.type)

    def on_error(event: Any) -> None:
        if event.error is not None:
            errors.append(event.error)

    rec.add_event_listener("dataavailable", on_data)
    rec.add_event_listener("error", on_error)

    console = Console()
    live_line = _LiveLine(output, audio, video, rec)
    with _Interrupt() as interrupt, rec:
        _wait_for_devices(audio, interrupt)
        rec.start(_TIMESLICE, file=output)
        started = time.monotonic()
        live = Live(console=console, transient=True, auto_refresh=False)
        if console.is_terminal:
            live.start()
        try:
            while True:
                elapsed = time.monotonic() - started
                left = _REFRESH if duration is None else min(_REFRESH, duration - elapsed)
                if left <= 0 or interrupt.requested.wait(left) or rec.wait(0):
                    break
                if console.is_terminal:
                    live.update(live_line.render(time.monotonic() - started), refresh=True)
        finally:
            rec.stop()
            elapsed = time.monotonic() - started
            live.stop()
    if errors:
        raise errors[0]
    size = output.stat().st_size
    mime = recorded_type[0] if recorded_type else rec.mime_type
    print(f"{output}: {size:,} bytes, {elapsed:.2f} s, {mime}")
    return 0


def _wait_for_devices(tracks: list[MediaStreamTrack], interrupt: _Interrupt) -> None:
    """Devices deliver their first samples up to ~2 s after they are opened: the recording
    (and the clock of ``--duration``) starts when they do, or after 5 s in any case."""
    devices = [t for t in tracks if "device_id" in t.get_settings()]
    deadline = time.monotonic() + _DEVICE_TIMEOUT
    while any(t.stats.get("total_frames", 0) == 0 for t in devices):
        if time.monotonic() > deadline:
            log.warning("the device delivered nothing within %g s", _DEVICE_TIMEOUT)
            return
        if interrupt.requested.wait(0.02):
            return


class _LiveLine:
    """One line: elapsed time, bytes written, the input level, lost audio and video."""

    def __init__(
        self,
        output: Path,
        audio: list[MediaStreamTrack],
        video: list[MediaStreamTrack],
        rec: MediaRecorder,
    ) -> None:
        self.output = output
        self.audio = audio[0] if audio else None
        self.video = video[0] if video else None
        self.rec = rec

    def render(self, elapsed: float) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("● ", style="bold red")
        minutes, seconds = divmod(elapsed, 60)
        line.append(f"{int(minutes):02d}:{seconds:04.1f}", style="bold")
        try:
            size = self.output.stat().st_size
        except OSError:
            size = 0
        line.append(f"  {_human_bytes(size):>8}")
        if self.audio is not None:
            # The core measures the track's newest 100 ms on the samples themselves.
            stats = self.audio.stats
            line.append("  ")
            line.append_text(_meter(stats["peak_dbfs"] if stats["delivered_frames"] else None))
            lost = self.audio.stats.get("dropped_frames", 0)
            line.append(f"  lost {lost} samples", style="bold red" if lost else "")
        if self.video is not None:
            dropped = self.video.stats.get("dropped_frames", 0)
            dropped += self.rec.stats.get("video_frames_dropped", 0)
            line.append(f"  dropped {dropped} frames", style="bold red" if dropped else "")
        return line


def _meter(dbfs: float | None) -> Text:
    text = Text()
    if dbfs is None:
        return text.append("·" * _METER_CELLS + "   --- dBFS", style="dim")
    fill = (max(dbfs, _METER_FLOOR) - _METER_FLOOR) / -_METER_FLOOR
    cells = int(round(fill * _METER_CELLS))
    style = "red" if dbfs > -1 else "yellow" if dbfs > -12 else "green"
    text.append("█" * cells, style=style)
    text.append("·" * (_METER_CELLS - cells), style="dim")
    label = "-inf" if dbfs == -math.inf else f"{dbfs:5.1f}"
    return text.append(f" {label:>5} dBFS")


def _human_bytes(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n_f = n / 1000
        if n_f < 1000 or unit == "GB":
            return f"{n_f:.1f} {unit}"
        n = int(n_f)
    return f"{n} B"  # not reached


# -- demo ------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    directory.mkdir(parents=True, exist_ok=True)

    tone = ToneSource(frequency=440.0)
    try:
        result = record_to_file(
            MediaStream([tone.track]), directory / "demo.webm", 3.0, timeslice=500
        )
    finally:
        tone.close()
    _describe(result.path)

    source = AudioSource(sample_rate=44100, channels=2)
    t = np.arange(3 * 44100) / 44100
    sine = (0.5 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32)
    path = directory / "demo-numpy.webm"
    with MediaRecorder(MediaStream([source.track])) as rec:
        rec.start(500, file=path)
        source.write(np.column_stack([sine, sine]))
    source.close()
    _describe(path)

    pattern = TestPatternSource(640, 360, 30.0)
    tone = ToneSource(frequency=330.0)
    try:
        result = record_to_file(
            MediaStream([pattern.track, tone.track]), directory / "demo-av.webm", 3.0
        )
    finally:
        pattern.close()
        tone.close()
    _describe(result.path)
    return 0


def _describe(path: Path) -> None:
    line = f"{path}: {path.stat().st_size:,} bytes"
    try:
        import av
    except ImportError:
        print(line)
        return
    with av.open(str(path)) as c:
        for s in c.streams.audio:
            n = sum(f.samples for f in c.decode(s))
            rate = s.codec_context.sample_rate
            line += (
                f"\n  audio: {s.codec_context.name}, {s.codec_context.channels} ch, "
                f"{n / rate:.3f} s"
            )
    with av.open(str(path)) as c:
        for s in c.streams.video:
            frames = sum(1 for _ in c.decode(s))
            line += f"\n  video: {s.codec_context.name}, {s.width}x{s.height}, {frames} frames"
    print(line)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
