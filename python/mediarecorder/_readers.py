"""Live readers: a track's media as NumPy, after the W3C mediacapture-transform draft's
``MediaStreamTrackProcessor`` and WebCodecs' ``AudioData`` / ``VideoFrame``."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _native
from ._events import type_name
from ._stream import MediaStreamTrack

__all__ = ["AudioData", "MediaStreamTrackProcessor", "VideoFrame", "read_audio"]

#: Items a reader buffers when ``max_buffer_size`` is not given: blocks of audio (a device's
#: or a tone's are 10 ms: 0.64 s), pictures of video (a 1080p picture is 3 MB).
DEFAULT_BUFFER = {"audio": 64, "video": 4}
#: How long one wait of ``async for`` lasts before it looks at cancellation again.
_ASYNC_STEP = 0.1


class AudioData:
    """A block of audio (WebCodecs ``AudioData``): ``numpy()`` gives float32 samples shaped
    ``(number_of_frames, number_of_channels)``; ``timestamp`` and ``duration`` in µs, on the
    clock of a recording started when the reader was made."""

    format = "f32"

    def __init__(self, samples: npt.NDArray[np.float32], sample_rate: int, timestamp: int):
        self._samples: npt.NDArray[np.float32] | None = samples
        self.sample_rate = sample_rate
        self.number_of_frames = int(samples.shape[0])
        self.number_of_channels = int(samples.shape[1])
        self.timestamp = timestamp
        self.duration = self.number_of_frames * 1_000_000 // sample_rate

    def numpy(self) -> npt.NDArray[np.float32]:
        """The samples, float32 ``(frames, channels)`` (this block's own array)."""
        if self._samples is None:
            from ._errors import InvalidStateError

            raise InvalidStateError("numpy: the AudioData is closed")
        return self._samples

    def close(self) -> None:
        """Lets its samples go (WebCodecs' ``close``)."""
        self._samples = None

    def __repr__(self) -> str:
        return (
            f"AudioData(timestamp={self.timestamp}, number_of_frames={self.number_of_frames}, "
            f"number_of_channels={self.number_of_channels}, sample_rate={self.sample_rate})"
        )


VideoFormat = Literal["rgb24", "bgr24", "rgba", "gray", "i420"]


class VideoFrame:
    """A picture (WebCodecs ``VideoFrame``): ``numpy(format)`` converts it (BT.601, the
    track's limited range to full range); ``timestamp`` in µs like :class:`AudioData`'s,
    ``duration`` None (a live picture lasts until the next)."""

    format = "I420"
    duration: int | None = None

    def __init__(self, picture: _native.Picture, timestamp: int) -> None:
        self._picture: _native.Picture | None = picture
        self.timestamp = timestamp
        self.display_width = self.coded_width = picture.width
        self.display_height = self.coded_height = picture.height

    def numpy(self, format: VideoFormat = "rgb24") -> npt.NDArray[np.uint8]:
        """``"rgb24"``, ``"bgr24"``, ``"rgba"``: ``(height, width, n)`` uint8; ``"gray"``:
        ``(height, width)``; ``"i420"``: the Y, U and V planes one after the other, 1-D."""
        if not isinstance(format, str):
            raise TypeError(f"format: expected a str, got {type_name(format)}")
        if self._picture is None:
            from ._errors import InvalidStateError

            raise InvalidStateError("numpy: the VideoFrame is closed")
        return self._picture.to_numpy(format)

    def close(self) -> None:
        self._picture = None

    def __repr__(self) -> str:
        return (
            f"VideoFrame(timestamp={self.timestamp}, display_width={self.display_width}, "
            f"display_height={self.display_height})"
        )


class MediaStreamTrackProcessor:
    """Reads a track's media as it comes: ``read(timeout)``, ``for`` and ``async for`` give
    :class:`AudioData` (audio tracks) or :class:`VideoFrame` (video tracks), from what the
    source produces after the reader is made, until the track ends.

    At most ``max_buffer_size`` items wait to be read (default: 64 audio blocks, 4 pictures).
    A live source (device, tone, test pattern, screen, camera) cannot wait: beyond that the
    oldest is dropped and counted in ``stats``. A NumPy source (``AudioSource.write``,
    ``VideoSource.write``) waits instead, as it does for a recorder: nothing is lost. Waiting
    in ``read`` releases the GIL and Ctrl-C interrupts it. A reader that is closed, or that
    nobody references, frees its buffer; the source no longer waits for it.
    """

    def __init__(self, track: MediaStreamTrack, max_buffer_size: int | None = None) -> None:
        if not isinstance(track, MediaStreamTrack):
            raise TypeError(f"track: expected a MediaStreamTrack, got {type_name(track)}")
        if max_buffer_size is None:
            max_buffer_size = DEFAULT_BUFFER[track.kind]
        if isinstance(max_buffer_size, bool) or not isinstance(max_buffer_size, int):
            raise TypeError(f"max_buffer_size: expected an int, got {type_name(max_buffer_size)}")
        if max_buffer_size < 1:
            raise ValueError(f"max_buffer_size: expected an int >= 1, got {max_buffer_size}")
        self.track = track
        self.max_buffer_size = max_buffer_size
        self._reader = _native.Reader(track._native, max_buffer_size)

    def read(self, timeout: float | None = None) -> AudioData | VideoFrame | None:
        """The next item; None once the track has ended and everything was read. Raises
        ``TimeoutError`` when nothing comes within ``timeout`` seconds (None: wait)."""
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(
                    f"timeout: expected a number of seconds or None, got {type_name(timeout)}"
                )
            if not (math.isfinite(timeout) and timeout >= 0):
                raise ValueError(
                    f"timeout: expected a finite number of seconds >= 0, got {timeout}"
                )
        got: Any = self._reader.read(None if timeout is None else float(timeout))
        if got is None:
            return None
        if got[0] == "audio":
            return AudioData(got[1], got[2], got[3])
        return VideoFrame(got[1], got[2])

    @property
    def stats(self) -> dict[str, int]:
        """``delivered`` (items read), ``dropped`` (items lost to a full buffer, live sources
        only) and ``dropped_frames`` (the audio frames, or pictures, in them), ``buffered``."""
        return dict(self._reader.stats())

    def close(self) -> None:
        """Stops reading: the buffer is freed; ``read`` returns None."""
        self._reader.close()

    def __enter__(self) -> MediaStreamTrackProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[AudioData | VideoFrame]:
        while (item := self.read()) is not None:
            yield item

    async def _aiter(self) -> AsyncIterator[AudioData | VideoFrame]:
        loop = asyncio.get_running_loop()
        while True:
            try:
                item = await loop.run_in_executor(None, self.read, _ASYNC_STEP)
            except TimeoutError:
                continue
            if item is None:
                return
            yield item

    def __aiter__(self) -> AsyncIterator[AudioData | VideoFrame]:
        return self._aiter()

    def __repr__(self) -> str:
        size = self.max_buffer_size
        return f"MediaStreamTrackProcessor(track={self.track!r}, max_buffer_size={size})"


def read_audio(
    seconds: float,
    device: str | None = None,
    sample_rate: int | None = None,
    channels: int | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Records ``seconds`` from an input device (the default one, or ``device``: a
    ``device_id`` of :func:`enumerate_devices`) and returns ``(samples, sample_rate)``, float32
    ``(frames, channels)`` — ``sounddevice.rec`` with this library's loss-free capture: the
    device's own thread fills the buffer whatever Python does meanwhile."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"seconds: expected a number, got {type_name(seconds)}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds: expected a finite number > 0, got {seconds}")
    from ._devices import get_user_media

    constraints: dict[str, Any] = {}
    if device is not None:
        constraints["device_id"] = device
    if sample_rate is not None:
        constraints["sample_rate"] = sample_rate
    if channels is not None:
        constraints["channel_count"] = channels
    track = get_user_media(audio=constraints or True).get_audio_tracks()[0]
    rate = int(track.get_settings()["sample_rate"])
    wanted = int(round(seconds * rate))
    # The whole take fits: nothing is dropped however late Python reads.
    blocks = max(64, wanted // 64 + 64)
    parts: list[npt.NDArray[np.float32]] = []
    got = 0
    try:
        reader = MediaStreamTrackProcessor(track, max_buffer_size=blocks)
        while got < wanted:
            item = reader.read()
            if item is None:
                break
            assert isinstance(item, AudioData)
            parts.append(item.numpy())
            got += item.number_of_frames
        reader.close()
    finally:
        track.stop()
    samples = np.concatenate(parts)[:wanted] if parts else np.zeros((0, 1), np.float32)
    return samples, rate
