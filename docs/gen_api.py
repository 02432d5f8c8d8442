"""Renders docs/api.md, the API reference, from the docstrings of ``mediarecorder``.

Every name of ``mediarecorder.__all__`` is documented, grouped as below (names no group lists
land in "More"), then the fixtures of the pytest plugin (``mediarecorder.testing``). Run it
after changing a public name or a docstring::

    .venv/bin/python docs/gen_api.py

``tests/test_docs.py`` checks that docs/api.md is what this script writes.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import mediarecorder as mr
import mediarecorder.testing as plugin

OUT = Path(__file__).resolve().parent / "api.md"

GROUPS: list[tuple[str, list[str]]] = [
    ("Streams and tracks", ["MediaStream", "MediaStreamTrack"]),
    ("Sources", ["AudioSource", "VideoSource", "ToneSource", "TestPatternSource"]),
    ("Devices", ["enumerate_devices", "get_user_media", "MediaDeviceInfo"]),
    ("The recorder", ["MediaRecorder"]),
    ("Events and blobs", ["Event", "BlobEvent", "ErrorEvent", "Blob"]),
    ("Files", ["make_seekable", "decode", "record", "RecordingResult"]),
    ("Readers", ["MediaStreamTrackProcessor", "AudioData", "VideoFrame", "read_audio"]),
    ("Notebooks", ["capture", "Recording", "PendingRecording"]),
    (
        "Exceptions",
        [
            "DOMException",
            "InvalidStateError",
            "NotSupportedError",
            "InvalidModificationError",
            "UnknownError",
            "EncodingError",
            "SecurityError",
            "NotAllowedError",
            "NotFoundError",
            "NotReadableError",
            "OverconstrainedError",
        ],
    ),
    ("Version", ["__version__"]),
]

#: ``mr.browser`` (docs/notebooks.md): recording in the browser showing a notebook.
BROWSER = ["get_user_media", "get_display_media", "BrowserStream", "MediaRecorder"]

#: Said for public members that have no docstring (yet): what API.md and the spec say.
NOTES: dict[str, str] = {
    "MediaRecorder.stream": "The recorded `MediaStream`, as given to the constructor.",
    "MediaRecorder.state": (
        '`"inactive"`, `"recording"` or `"paused"`; changed synchronously by `start()`, '
        "`stop()`, `pause()` and `resume()`, and by the end of a session."
    ),
    "MediaRecorder.audio_bits_per_second": "The audio bitrate in bits per second.",
    "MediaRecorder.video_bits_per_second": "The video bitrate in bits per second.",
    "MediaRecorder.audio_bitrate_mode": '`"variable"` (the default) or `"constant"`.',
    "MediaRecorder.resume": (
        "Resumes a paused recording and fires `resume`; does nothing while recording; "
        "`InvalidStateError` when inactive."
    ),
    "MediaRecorder.remove_event_listener": (
        "Removes `callback` for `type`; removing one that is not there does nothing."
    ),
    "MediaStreamTrack.id": "A unique id (a UUID string).",
    "MediaStreamTrack.kind": '`"audio"` or `"video"`.',
    "MediaStreamTrack.label": "The source's label (a device's name).",
    "MediaStreamTrack.muted": "True while the source cannot provide media.",
    "MediaStreamTrack.ready_state": '`"live"`, or `"ended"` once the track has ended.',
    "MediaStreamTrack.onended": (
        "Called with an `Event` when the source ends the track (not on `stop()`)."
    ),
    "MediaStream.id": "A unique id (a UUID string).",
    "MediaStream.get_tracks": "All the stream's tracks, in the order they were added.",
    "MediaStream.get_audio_tracks": "The stream's audio tracks.",
    "MediaStream.get_video_tracks": "The stream's video tracks.",
    "MediaStream.get_track_by_id": "The track with that `id`, or None.",
    **{
        f"MediaRecorder.on{t}": (
            f"A handler for `{t}` events (a callable taking the event, or None); it runs before "
            f"the listeners added with `add_event_listener`."
        )
        for t in ("start", "stop", "dataavailable", "pause", "resume", "error")
    },
    "Recording.data": "The recording's bytes (the chunks joined, or the file written).",
    "Recording.mime_type": "The recorded MIME type, with its codecs.",
    "Recording.path": "The file it was read from or recorded to, else None.",
    "Recording.error": "The `DOMException` that ended the recording early, else None.",
    "DOMException.name": 'The web name of the error (`"InvalidStateError"` ...).',
    "DOMException.message": "What went wrong.",
    "Event.bubbles": "Always False.",
    "Event.cancelable": "Always False.",
    "Event.is_trusted": "True for events fired by the library.",
    "Blob.type": "The MIME type of the chunk (the recorded type, with its codecs).",
    "__version__": "The package's version.",
}

HEADER = """\
# API reference

Every public name of `mediarecorder` (`import mediarecorder as mr`) and the fixtures of its
pytest plugin. Generated from the docstrings by `docs/gen_api.py`: edit the docstrings, then
run `.venv/bin/python docs/gen_api.py`. The tutorial is [tutorial.md](tutorial.md); files and
containers are in [files.md](files.md).
"""


def render() -> str:
    """The text of docs/api.md."""
    out = [HEADER]
    listed = {name for _, names in GROUPS for name in names}
    groups = [(title, [n for n in names if n in mr.__all__]) for title, names in GROUPS]
    rest = sorted(n for n in mr.__all__ if n not in listed)
    if rest:
        groups.insert(-1, ("More", rest))
    out.append("## Contents\n")
    for title, names in groups:
        if names:
            links = ", ".join(f"[`{n}`](#{anchor('mr.' + n)})" for n in names)
            out.append(f"- {title}: {links}")
    links = ", ".join(f"[`{n}`](#{anchor('mr.browser.' + n)})" for n in BROWSER)
    out.append(f"- The browser (`mr.browser`, notebooks): {links}")
    out.append(f"- [The pytest plugin](#{anchor('The pytest plugin')})\n")
    for title, names in groups:
        if not names:
            continue
        out.append(f"## {title}\n")
        for name in names:
            out.extend(document(name, getattr(mr, name)))
    out.append("## The browser (`mr.browser`, notebooks)\n")
    out.append(
        "Recording the microphone, camera or screen of the browser showing a notebook with "
        "the browser's own `MediaRecorder`, streamed to the kernel (`pip install "
        "'mediarecorder[notebook]'`); see [notebooks.md](notebooks.md).\n"
    )
    for name in BROWSER:
        out.extend(document(f"browser.{name}", getattr(mr.browser, name)))
    out.extend(document_plugin())
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^a-z0-9_ -]", "", heading.lower()).replace(" ", "-")


def document(name: str, obj: Any) -> list[str]:
    if inspect.isclass(obj):
        return document_class(name, obj)
    if callable(obj):
        return [
            f"### mr.{name}\n",
            fence(f"mr.{name}{signature(obj)}"),
            docstring(obj, name),
        ]
    return [f"### mr.{name}\n", f"`{type(obj).__name__}`: {NOTES.get(name, '')}\n"]


def document_class(name: str, cls: type) -> list[str]:
    out = [f"### mr.{name}\n"]
    bases = public_bases(cls)
    ctor = signature(cls)
    if "_native" in ctor:
        out.append("Made by the library (sources, `get_user_media`), not constructed directly.\n")
    else:
        out.append(fence(f"mr.{name}{ctor}"))
    if bases:
        out.append("Subclass of " + ", ".join(f"`{base_name(b)}`" for b in bases) + ".\n")
    out.append(docstring(cls, name))
    for member, kind, value in members(cls):
        key = f"{name}.{member}"
        if kind == "attribute":
            heading = f"`{member}: {value}`"
            obj: Any = None
        elif kind in ("property", "cached_property"):
            heading = f"`{member}` (read-only)" if kind == "property" else f"`{member}`"
            if kind == "property" and value.fset is not None:
                heading = f"`{member}` (settable)"
            obj = value.fget if kind == "property" else value.func
        else:
            prefix = f"{kind} " if kind in ("staticmethod", "classmethod") else ""
            target = value.__func__ if kind in ("staticmethod", "classmethod") else value
            heading = f"{prefix}`{member}{signature(target, drop_self=kind != 'staticmethod')}`"
            obj = target
        out.append(f"#### {name}.{member}\n")
        out.append(heading + "\n")
        out.append(docstring(obj, key) if obj is not None else note(key))
    return out


def members(cls: type) -> Iterable[tuple[str, str, Any]]:
    """The public members that ``cls`` defines itself (inherited ones are documented on the
    class that defines them): (name, kind, value)."""
    seen: set[str] = set()
    annotations = vars(cls).get("__annotations__", {})
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    # A class's private bases (its layers) are documented as part of it.
    namespace: dict[str, Any] = {}
    for layer in private_layers(cls):
        for k, v in vars(layer).items():
            namespace.setdefault(k, v)
    for member, value in namespace.items():
        if member.startswith("_") or member in fields:
            continue
        seen.add(member)
        if isinstance(value, property):
            yield member, "property", value
        elif isinstance(value, staticmethod):
            yield member, "staticmethod", value
        elif isinstance(value, classmethod):
            yield member, "classmethod", value
        elif type(value).__name__ == "cached_property":
            yield member, "cached_property", value
        elif inspect.isfunction(value):
            yield member, "method", value
        elif member in annotations:
            yield member, "attribute", annotations[member]
        elif not callable(value):
            yield member, "attribute", type(value).__name__
    for member, annotation in annotations.items():
        if not member.startswith("_") and member not in seen:
            yield member, "attribute", annotation


def private_layers(cls: type) -> list[type]:
    """``cls`` and, depth first, those of its bases that are private (not exported by
    ``mediarecorder``)."""
    out = [cls]
    for base in cls.__bases__:
        if base is not object and _private(base):
            out.extend(b for b in private_layers(base) if b not in out)
    return out


def _private(cls: type) -> bool:
    if cls.__name__.startswith("_"):
        return True
    return cls.__module__.startswith("mediarecorder") and getattr(mr, cls.__name__, None) is not cls


def public_bases(cls: type) -> list[type]:
    """The bases of ``cls``, private ones replaced by their own public bases."""
    out: list[type] = []
    for base in cls.__bases__:
        if base is object:
            continue
        if _private(base):
            out.extend(b for b in public_bases(base) if b not in out)
        elif base not in out:
            out.append(base)
    return out


def base_name(cls: type) -> str:
    if cls.__module__.startswith("mediarecorder"):
        return f"mr.{cls.__name__}"
    return cls.__name__


def signature(obj: Callable[..., Any], drop_self: bool = False) -> str:
    """``(a: int, b: str = '') -> bool``, with annotations as they are written."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = list(sig.parameters.values())
    if drop_self and params and params[0].name in ("self", "cls"):
        params = params[1:]
    parts: list[str] = []
    star_done = False
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        stars = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        text = stars + p.name
        if p.annotation is not p.empty:
            text += f": {annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        parts.append(text)
        is_last_positional_only = p.kind is p.POSITIONAL_ONLY and (
            i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY
        )
        if is_last_positional_only:
            parts.append("/")
    result = f"({', '.join(parts)})"
    if sig.return_annotation is not sig.empty and sig.return_annotation not in ("None", None):
        result += f" -> {annotation(sig.return_annotation)}"
    return result


def annotation(value: Any) -> str:
    return value if isinstance(value, str) else inspect.formatannotation(value)


def fence(code: str) -> str:
    if len(code) > 96 and "(" in code:
        head, _, rest = code.partition("(")
        args, _, tail = rest.rpartition(")")
        lines = split_args(args)
        code = head + "(\n" + "".join(f"    {a},\n" for a in lines) + ")" + tail
    return f"```\n{code}\n```\n"


def split_args(args: str) -> list[str]:
    """Splits an argument list at the commas that are not inside brackets."""
    out, depth, current = [], 0, ""
    for ch in args:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    return out


def note(key: str) -> str:
    text = NOTES.get(key)
    return f"{text}\n" if text else ""


def docstring(obj: Any, key: str) -> str:
    doc = inspect.getdoc(obj) if obj is not None else None
    if (
        doc is None
        or obj is None
        or (inspect.isclass(obj) and "__doc__" not in vars(obj))
        or (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("))  # a dataclass's default
    ):
        return note(key)
    return markdown(doc) + "\n"


ROLE = re.compile(r":(?:class|meth|func|attr|mod|data|exc|obj):`~?(?:mediarecorder\.)?([^`]+)`")


def markdown(doc: str) -> str:
    """reST-flavoured docstring text to Markdown: ``x`` -> `x`, roles -> code, literal blocks
    (a paragraph ending in ``::``) -> indented code."""
    lines = doc.splitlines()
    out: list[str] = []
    literal = False
    for line in lines:
        if literal:
            if line.strip() and not line.startswith(" "):
                literal = False
            else:
                out.append(line)
                continue
        converted = ROLE.sub(r"`\1`", line).replace("``", "`")
        if converted.rstrip().endswith("::"):
            converted = converted.rstrip()[:-1]
            literal = True
            out.append(converted)
            out.append("")
            continue
        out.append(converted)
    text = "\n".join(out)
    # A literal block is indented 4 spaces in the docstring: Markdown's indented code block.
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def document_plugin() -> list[str]:
    out = ["## The pytest plugin\n"]
    out.append(markdown(inspect.getdoc(plugin) or "") + "\n")
    for name in ("tone_stream", "av_stream", "numpy_audio", "recorder_factory", "recorded"):
        fixture = getattr(plugin, name)
        out.append(f"### fixture `{name}`\n")
        out.append(markdown(inspect.getdoc(fixture) or "") + "\n")
    cls = plugin.RecorderFactory
    out.append("### mediarecorder.testing.RecorderFactory\n")
    out.append(markdown(inspect.getdoc(cls) or "") + "\n")
    for member, kind, value in members(cls):
        if kind != "method":
            continue
        out.append(f"#### RecorderFactory.{member}\n")
        out.append(f"`{member}{signature(value, drop_self=True)}`\n")
        out.append(docstring(value, f"RecorderFactory.{member}"))
    call = cls.__call__
    out.append("#### RecorderFactory.\\_\\_call\\_\\_\n")
    out.append(f"`factory{signature(call, drop_self=True)}`\n")
    out.append(docstring(call, "RecorderFactory.__call__"))
    return out


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT} is out of date: run {sys.executable} docs/gen_api.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
