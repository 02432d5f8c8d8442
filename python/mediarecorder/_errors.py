"""The web's DOMException and one subclass per name, defined once for the whole library.

The Rust binding raises these (``src/python/errors.rs``); argument errors are the built-in
``ValueError`` and ``TypeError`` instead.
"""

from __future__ import annotations

__all__ = [
    "DOMException",
    "EncodingError",
    "InvalidModificationError",
    "InvalidStateError",
    "NotAllowedError",
    "NotFoundError",
    "NotReadableError",
    "NotSupportedError",
    "OverconstrainedError",
    "SecurityError",
    "UnknownError",
]


class DOMException(Exception):
    """An error with a web ``name``, constructed like ``new DOMException(message, name)``."""

    name: str
    message: str

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(message)
        self.message = message
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class _Named(DOMException):
    _NAME = "Error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message, type(self)._NAME)


class InvalidStateError(_Named):
    """A method was called in a state that does not allow it."""

    _NAME = "InvalidStateError"


class NotSupportedError(_Named):
    """The type, codec or track configuration cannot be recorded."""

    _NAME = "NotSupportedError"


class InvalidModificationError(_Named):
    """The recorded stream's track set changed during recording."""

    _NAME = "InvalidModificationError"


class UnknownError(_Named):
    """Recording failed for a reason other than an encoder (e.g. the muxer)."""

    _NAME = "UnknownError"


class EncodingError(_Named):
    """An encoder failed."""

    _NAME = "EncodingError"


class SecurityError(_Named):
    """Access was refused (kept for parity with the web; not raised by this library)."""

    _NAME = "SecurityError"


class NotFoundError(_Named):
    """No device matches the request."""

    _NAME = "NotFoundError"


class NotAllowedError(_Named):
    """The user or the browser refused access to a device (``mediarecorder.browser``)."""

    _NAME = "NotAllowedError"


class NotReadableError(_Named):
    """The device exists but cannot be opened."""

    _NAME = "NotReadableError"


class OverconstrainedError(_Named):
    """A constraint cannot be met; ``constraint`` names it."""

    _NAME = "OverconstrainedError"

    def __init__(self, message: str = "", constraint: str = "") -> None:
        super().__init__(message)
        self.constraint = constraint
