"""Errors the conversation explains to the user, and the engine's refusals in our words.

`UserError` carries one sentence from bot/texts.py (a msgid, translated where it is
shown); nst's errors (nst/errors.py) say what was wrong with a picture or clip by
their `code`, which is mapped here to our own sentences.
"""
from __future__ import annotations

from bot import texts
from nst.errors import ClipError, ImageError, NstError
from nst.images import MIN_SIDE


class UserError(Exception):
    """A refusal or failure explained to the user with one sentence from texts.py
    (the msgid; `values` fill its placeholders once it is translated)."""

    def __init__(self, user_message: str, **values: object) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.values = values


_PICTURE_TEXT_BY_CODE = {
    "not_image": texts.NOT_AN_IMAGE, "too_small": texts.TOO_SMALL,
    "too_big": texts.TOO_MANY_PIXELS, "bad_ratio": texts.BAD_RATIO,
    "too_big_to_open": texts.TOO_BIG_TO_OPEN,
    "unsupported": texts.UNSUPPORTED, "style_not_found": texts.STYLE_GONE,
}
_UNREADABLE_CODES = ("empty", "corrupt", "unreadable")
_CLIP_TEXT_BY_CODE = {
    "empty": texts.CLIP_EMPTY, "no_frames": texts.CLIP_EMPTY, "corrupt": texts.CLIP_UNREADABLE,
    "no_video": texts.CLIP_NO_VIDEO, "too_big": texts.CLIP_TOO_BIG,
    "too_many_frames": texts.CLIP_TOO_MANY_FRAMES,
}


def picture_refusal(exc: NstError, *, document: bool = False) -> UserError:
    """The UserError for an engine refusal of a picture (its code says what was wrong);
    an unreadable file is told it may go better as a photo, an unreadable photo is not."""
    unreadable = texts.UNREADABLE_FILE if document else texts.UNREADABLE
    if exc.code in _UNREADABLE_CODES:
        msgid = unreadable
    else:
        default = unreadable if isinstance(exc, ImageError) else texts.UNEXPECTED
        msgid = _PICTURE_TEXT_BY_CODE.get(exc.code, default)
    return UserError(msgid, min_side=MIN_SIDE) if msgid == texts.TOO_SMALL else UserError(msgid)


def clip_refusal(exc: ClipError) -> UserError:
    """The UserError for a clip the engine refused."""
    return UserError(_CLIP_TEXT_BY_CODE.get(exc.code, texts.CLIP_UNREADABLE))
