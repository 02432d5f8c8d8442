"""Record from the browser showing the notebook (issue 27): the person's microphone, camera
and screen, recorded by the browser's own ``MediaRecorder`` and streamed to the kernel,
wherever the kernel runs (JupyterHub, Binder, Colab, VS Code remote, a container).

    import mediarecorder as mr
    stream = mr.browser.get_user_media(audio=True)   # shows the widget; the browser asks
    rec = mr.browser.MediaRecorder(stream)
    rec.start(1000, file="take.webm")
    ...                                              # a later cell:
    await rec.astop()                                # take.webm is seekable now

Needs ``anywidget`` (``pip install 'mediarecorder[notebook]'``); ``import mediarecorder``
never does. See docs/notebooks.md for local and remote kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._recorder import MediaRecorder
from ._stream import CHUNK_LIMIT, GONE_AFTER, BrowserStream, check_constraints

__all__ = [
    "CHUNK_LIMIT",
    "GONE_AFTER",
    "BrowserStream",
    "MediaRecorder",
    "get_display_media",
    "get_user_media",
]


def get_user_media(
    audio: bool | Mapping[str, Any] = True,
    video: bool | Mapping[str, Any] = False,
    *,
    display: bool = True,
) -> BrowserStream:
    """Asks the browser showing the notebook for its microphone and/or camera, as
    ``navigator.mediaDevices.getUserMedia({audio, video})`` (the same constraint dicts:
    ``{"echoCancellation": False}``, ``{"width": 1280}``, ...). Returns at once: the browser
    answers once the cell has finished (``await stream.ready()`` waits for it, raising
    ``NotAllowedError`` if permission is denied, ``NotFoundError`` if there is no device).
    ``display``: show the widget now (False: headless, driven from code only)."""
    a, v = check_constraints("audio", audio), check_constraints("video", video)
    if a is False and v is False:
        raise TypeError("get_user_media: at least one of audio and video must be requested")
    return _make("user", {"audio": a, "video": v}, display)


def get_display_media(
    video: bool | Mapping[str, Any] = True,
    audio: bool | Mapping[str, Any] = False,
    *,
    display: bool = True,
) -> BrowserStream:
    """Asks the browser to capture a screen, window or tab, as
    ``navigator.mediaDevices.getDisplayMedia({video, audio})``; the person picks what to share
    (a refusal is ``NotAllowedError``). Otherwise as :func:`get_user_media`."""
    v, a = check_constraints("video", video), check_constraints("audio", audio)
    if v is False:
        raise TypeError("get_display_media: video must be requested (browsers require it)")
    return _make("display", {"video": v, "audio": a}, display)


def _make(kind: str, constraints: dict[str, Any], display: bool) -> BrowserStream:
    if not isinstance(display, bool):
        raise TypeError(f"display: expected a bool, got {type(display).__name__}")
    stream = BrowserStream(kind, constraints)
    if display:
        try:
            from IPython.display import display as show
        except ImportError:
            return stream
        show(stream.widget)  # type: ignore[no-untyped-call]
    return stream
