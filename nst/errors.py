"""Errors the engine raises on purpose.

Every error carries a ``user_message`` (one friendly sentence that can be shown
as-is to somebody on a phone) and a machine-readable ``code`` for logs, tests
and branching.  ``str(error)`` is the user message; technical detail, if any,
goes to ``detail`` and never to the user.
"""
from __future__ import annotations


class NstError(Exception):
    """Base class of all deliberate ``nst`` errors."""

    default_code = "error"
    default_message = "Something went wrong while processing the picture."

    def __init__(
        self,
        user_message: str | None = None,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.user_message: str = user_message or self.default_message
        self.code: str = code or self.default_code
        self.detail: str | None = detail
        super().__init__(self.user_message)

    def __str__(self) -> str:
        return self.user_message

    def __repr__(self) -> str:
        extra = f", detail={self.detail!r}" if self.detail else ""
        return f"{type(self).__name__}({self.user_message!r}, code={self.code!r}{extra})"

    # keep code and detail across pickling (process pools)
    def __reduce__(self) -> tuple[type, tuple[str, str, str | None]]:
        return (type(self), (self.user_message, self.code, self.detail))


class ImageError(NstError):
    """The input picture cannot be used (empty, not an image, corrupt, too big …)."""

    default_code = "image"
    default_message = "I couldn't use that picture. Please try a different one."


class StyleNotFound(NstError):
    """The requested style id does not exist in the catalog."""

    default_code = "style_not_found"
    default_message = "I don't know that style. Please pick one from the list."


class ModelError(NstError):
    """A model file is missing, damaged or failed to run."""

    default_code = "model"
    default_message = "The stylization model isn't available right now. Please try again later."


class ClipError(NstError):
    """The input clip cannot be used (corrupt, no picture track, empty, too big …).

    Codes: ``empty``, ``corrupt``, ``no_video``, ``no_frames``, ``too_big`` (canvas),
    ``too_many_frames``.
    """

    default_code = "clip"
    default_message = "I couldn't use that clip. Please try a different one."


__all__ = ["NstError", "ImageError", "StyleNotFound", "ModelError", "ClipError"]
