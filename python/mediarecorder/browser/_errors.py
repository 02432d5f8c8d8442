"""The browser's DOMExceptions, by name, as the library's classes."""

from __future__ import annotations

from .. import _errors
from .._errors import DOMException


def dom_exception(name: object, message: object) -> DOMException:
    """The library's class for the web name ``name`` (``NotAllowedError``, ...); a name it
    does not know is a plain :class:`DOMException` with that name."""
    name, message = str(name or "Error"), str(message or "")
    cls = getattr(_errors, name, None)
    if isinstance(cls, type) and issubclass(cls, DOMException) and cls is not DOMException:
        return cls(message)
    return DOMException(message, name)
