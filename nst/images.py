"""Image intake and output: whatever a phone (or a stranger) sends -> upright sRGB RGB.

``load_image`` is the single entry point for untrusted pictures.  It either
returns a fully decoded, upright ``RGB`` :class:`PIL.Image.Image` or raises
:class:`nst.errors.ImageError` with a friendly ``user_message`` and one of the
codes ``empty``, ``not_image``, ``corrupt``, ``too_big``, ``too_small``,
``bad_ratio`` (or ``unreadable`` when a path cannot be opened at all).
Nothing else escapes from decoding.

``encode_image`` writes JPEG / PNG / WebP from a brand-new image, so no
EXIF, GPS, XMP, ICC or comment of the input can ever leak into the output.
"""
from __future__ import annotations

import io
import logging
import math
import os
import threading
import warnings
from typing import IO, Union

from PIL import Image, ImageFile, UnidentifiedImageError

from .color import (
    JPEG_FORMATS,
    MAX_ICC_BYTES,
    flatten_on_white,
    to_rgb,
    to_rgb_in_strips,
    to_rgb_or_rgba,
)
from .backends.base import MIN_SIDE
from .errors import ImageError

log = logging.getLogger(__name__)

MAX_PIXELS = 50_000_000
# Pixels a non-JPEG picture may have, per role: PNG, WebP, HEIC… decode at full size
# (only JPEG can be decoded small), some modes at 4 bytes a pixel. A phone's largest
# HEIC is 24 MP; a style is looked at 256 px wide.
PHOTO_DECODE_PIXELS = 24_000_000
STYLE_DECODE_PIXELS = 8_000_000
MAX_RATIO = 20
_STRIP_PIXELS = 1 << 20   # pixels of one strip when a big picture is converted
_REDUCE_PIXELS = 1 << 22  # smaller pictures are converted whole

Source = Union[bytes, bytearray, memoryview, str, os.PathLike]

# Formats we are willing to parse.  Everything else (EPS -> Ghostscript, PSD,
# TGA with its magic-less header, ICO, PDF …) is "not an image" for us.
_WANTED_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "HEIF", "AVIF", "BMP", "TIFF")

_MESSAGES = {
    "empty": "That file is empty. Please send the picture again.",
    "not_image": "That doesn't look like a picture. Please send a photo (JPEG, PNG, WebP or HEIC).",
    "corrupt": "That picture seems to be damaged or incomplete. Please send it again or try another one.",
    "too_small": f"That picture is too small. Please send one at least {MIN_SIDE} pixels on each side.",
    "bad_ratio": (
        f"That picture is too long and thin. Please send one that is at most {MAX_RATIO} times "
        "longer than it is wide."
    ),
    "unreadable": "I couldn't read that file. Please check it and try again.",
    "too_big_to_open": (
        "That picture is too large for me to open ({size}). Please send it as a JPEG photo, "
        "or one under {limit} megapixels."
    ),
}

# --------------------------------------------------------------------------- #
# One-time plugin registration
# --------------------------------------------------------------------------- #

_register_lock = threading.Lock()
_open_formats: tuple[str, ...] | None = None


def _formats() -> tuple[str, ...]:
    """Register pillow-heif (once, thread safe) and return the formats to try."""
    global _open_formats
    formats = _open_formats
    if formats is not None:
        return formats
    with _register_lock:
        if _open_formats is None:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
            except Exception:  # pragma: no cover - pillow-heif is a hard requirement
                log.warning("pillow-heif unavailable; HEIC photos will be rejected", exc_info=True)
            Image.init()
            _open_formats = tuple(f for f in _WANTED_FORMATS if f in Image.OPEN)
        return _open_formats


# DecompressionBombWarning is turned into an error around Image.open (the
# header parse, where Pillow runs its check); other warnings there and in the
# EXIF parse are muted: header junk is the sender's problem, not a log line,
# and must not turn into an error under ``-W error``.  warnings.catch_warnings
# swaps process-global state, so our own callers take turns (both sections
# only parse headers; pixels are transposed outside the lock).  The global Image.MAX_IMAGE_PIXELS is never touched.
_warnings_lock = threading.Lock()


def _open(fp: IO[bytes]) -> ImageFile.ImageFile:
    formats = _formats()
    with _warnings_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(fp, formats=formats)


_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> Image.Transpose | None:
    """The turn that makes the picture upright (EXIF, or XMP's tiff:Orientation, as
    `ImageOps.exif_transpose` reads them); bogus values and a corrupt EXIF block = None.
    Applied to the decoded picture once it is small, so it never costs a full-size copy."""
    try:
        with _warnings_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = img.getexif().get(0x0112)
    except Exception:  # corrupt EXIF block: treat the picture as upright
        log.debug("unreadable EXIF, assuming upright", exc_info=True)
        return None
    return _TURNS.get(value) if isinstance(value, int) else None


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def load_image(
    source: Source,
    *,
    max_pixels: int = MAX_PIXELS,
    draft_side: int | None = None,
    max_decoded: int | None = None,
) -> Image.Image:
    """Decode untrusted picture bytes (or a file path) into an upright RGB image.

    * size is checked from the header before any pixel is decoded;
    * only the first frame of animations / multi-image files is used;
    * ``draft_side``: for JPEGs let libjpeg decode at 1/2, 1/4 or 1/8 scale while
      the long side stays >= ``draft_side`` (fast path for big phone photos); other
      big pictures (any mode) are shrunk by an integer factor right after decoding, so
      no full-size copy of them is ever made (the caller's role sets the side: a
      style image needs only a few hundred pixels);
    * ``max_decoded``: a picture that must be decoded at full size (anything but JPEG)
      with more pixels than this is refused from its header (code ``too_big_to_open``):
      ``PHOTO_DECODE_PIXELS`` / ``STYLE_DECODE_PIXELS`` are the bot's budgets per role;
    * every mode is converted (and shrunk) strip by strip, so nothing but the decoded
      picture itself is ever held at full size;
    * EXIF orientation is applied (bogus values and broken EXIF = upright);
    * every mode becomes RGB: alpha is composited on white, 16-bit / 32-bit
      greyscale is scaled (not clipped) to 8 bits, CMYK is converted;
    * an embedded ICC profile (e.g. Display P3) is converted to sRGB; broken or
      huge profiles are ignored.

    Raises :class:`ImageError` (and nothing else) for any bad input.
    """
    if draft_side is not None and draft_side < 1:
        raise ValueError("draft_side must be a positive number of pixels or None")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source) if isinstance(source, memoryview) else source
        if not data:
            raise ImageError(_MESSAGES["empty"], code="empty", detail="0 bytes")
        return _load_from(io.BytesIO(data), bytes(data[:32]), (max_pixels, max_decoded),
                          draft_side)
    if isinstance(source, (str, os.PathLike)):
        try:
            fp = open(source, "rb")
        except OSError as exc:
            raise ImageError(_MESSAGES["unreadable"], code="unreadable", detail=str(exc)) from exc
        with fp:
            try:
                prefix = fp.read(32)
                fp.seek(0)
            except OSError as exc:
                raise ImageError(_MESSAGES["unreadable"], code="unreadable", detail=str(exc)) from exc
            if not prefix:
                raise ImageError(_MESSAGES["empty"], code="empty", detail=f"{os.fspath(source)}: 0 bytes")
            return _load_from(fp, prefix, (max_pixels, max_decoded), draft_side)
    raise TypeError(f"load_image() needs bytes or a path, not {type(source).__name__}")


def output_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) with the aspect kept and the long side = min(max_side, long side)."""
    long_side = max(width, height)
    target = min(max_side, long_side)
    if target == long_side:
        return width, height
    s = target / long_side
    w = target if width == long_side else max(1, round(width * s))
    h = target if height == long_side else max(1, round(height * s))
    return w, h


def fit_max_side(img: Image.Image, max_side: int) -> Image.Image:
    """Downscale so the long side is ``max_side`` (aspect kept); never upscales (the
    engine's output size). Returns ``img`` itself when it already fits.
    """
    if max_side < 1:
        raise ValueError("max_side must be >= 1")
    size = output_size(img.width, img.height, max_side)
    if size == img.size:
        return img
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


_EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
_FORMAT_ALIASES = {"JPG": "JPEG", "JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}


def format_for_path(path: str | os.PathLike[str]) -> str:
    """Output format for a file name: "JPEG", "PNG" or "WEBP" (by extension)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return _EXTENSIONS[ext]
    except KeyError:
        allowed = ", ".join(_EXTENSIONS)
        shown = ext or "(none)"
        raise ImageError(
            f"Can't save as '{shown}'. Please use one of these file extensions: {allowed}.",
            code="unsupported",
            detail=os.fspath(path),
        ) from None


def encode_image(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """Encode to JPEG (default), PNG or WebP bytes without any input metadata.

    The pixels are copied into a brand-new image first, so EXIF / GPS / XMP /
    ICC / comments in ``img.info`` can never be written out.
    """
    key = str(fmt).upper().lstrip(".")
    out_fmt = _FORMAT_ALIASES.get(key)
    if out_fmt is None:
        raise ImageError(
            f"Can't save pictures as {fmt!r}. Please use JPEG, PNG or WebP.",
            code="unsupported",
            detail=f"format {fmt!r}",
        )
    if out_fmt == "JPEG":
        src = img if img.mode in ("RGB", "L") else flatten_on_white(to_rgb_or_rgba(img))
    elif out_fmt == "PNG" and img.mode in ("RGB", "RGBA", "L", "LA"):
        src = img
    else:
        src = to_rgb_or_rgba(img)
    clean = Image.new(src.mode, src.size)  # fresh: empty info, no cached EXIF
    clean.paste(src, (0, 0))
    buf = io.BytesIO()
    if out_fmt == "JPEG":
        clean.save(buf, "JPEG", quality=quality, optimize=False, progressive=False, subsampling=2)
    elif out_fmt == "PNG":
        clean.save(buf, "PNG", compress_level=6)
    else:
        clean.save(buf, "WEBP", quality=quality, method=4)
    return buf.getvalue()


# --------------------------------------------------------------------------- #
# Decoding pipeline
# --------------------------------------------------------------------------- #


def _load_from(fp: IO[bytes], prefix: bytes, caps: tuple[int, int | None],
               draft_side: int | None) -> Image.Image:
    max_pixels, max_decoded = caps
    try:
        img = _open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_big(None, max_pixels, str(exc)) from exc
    except UnidentifiedImageError as exc:
        if _looks_like_image(prefix):
            raise ImageError(_MESSAGES["corrupt"], code="corrupt", detail=str(exc)) from exc
        raise ImageError(_MESSAGES["not_image"], code="not_image", detail=str(exc)) from exc
    except MemoryError as exc:
        raise _too_big(None, max_pixels, "out of memory while reading the header") from exc
    except Exception as exc:
        raise ImageError(_MESSAGES["corrupt"], code="corrupt", detail=f"open: {exc!r}") from exc

    try:
        _check_size(img.size, max_pixels)
        _check_budget(img, max_decoded)
        return _decode(img, draft_side)
    except ImageError:
        raise
    except (MemoryError, Image.DecompressionBombError) as exc:
        raise _too_big(img.size, max_pixels, repr(exc)) from exc
    except Exception as exc:  # anything Pillow / a codec throws while decoding
        raise ImageError(
            _MESSAGES["corrupt"], code="corrupt", detail=f"{img.format} decode: {exc!r}"
        ) from exc
    finally:
        img.close()


def _too_big(size: tuple[int, int] | None, max_pixels: int, detail: str) -> ImageError:
    limit = max(1, round(max_pixels / 1_000_000))
    what = f" ({size[0]}×{size[1]})" if size else ""
    return ImageError(
        f"That picture is too large{what}. Please send one under {limit} megapixels.",
        code="too_big",
        detail=detail,
    )


def _check_size(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w * h > max_pixels:
        raise _too_big(size, max_pixels, f"{w}x{h} > {max_pixels} pixels")
    if min(w, h) < MIN_SIDE:
        raise ImageError(_MESSAGES["too_small"], code="too_small", detail=f"{w}x{h}")
    if max(w, h) > MAX_RATIO * min(w, h):
        raise ImageError(_MESSAGES["bad_ratio"], code="bad_ratio", detail=f"{w}x{h}")


def _check_budget(img: Image.Image, max_decoded: int | None) -> None:
    """Refuse, unread, a picture that would be decoded at full size beyond the budget."""
    w, h = img.size
    if max_decoded is None or img.format in JPEG_FORMATS or w * h <= max_decoded:
        return
    limit = max(1, max_decoded // 1_000_000)
    raise ImageError(_MESSAGES["too_big_to_open"].format(size=f"{w}×{h}", limit=limit),
                     code="too_big_to_open", detail=f"{img.format} {img.mode} {w}x{h}")


def _looks_like_image(prefix: bytes) -> bool:
    """Magic numbers of the formats we read: used to tell "corrupt" from "not_image"."""
    if prefix.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")):
        return True
    if prefix.startswith((b"II*\x00", b"MM\x00*")):
        return True
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        return True
    if prefix[:2] == b"BM" and len(prefix) >= 18:
        return int.from_bytes(prefix[14:18], "little") in (12, 40, 52, 56, 64, 108, 124)
    if prefix[4:8] == b"ftyp":
        return prefix[8:12] in (
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
            b"mif1", b"msf1", b"avif", b"avis",
        )
    return False


def _decode(img: ImageFile.ImageFile, draft_side: int | None) -> Image.Image:
    if draft_side and img.format in JPEG_FORMATS:
        _draft(img, draft_side)
    img.load()  # first frame only; raises on truncated / corrupt data
    turn = _orientation(img)
    w, h = img.size
    factor = max(1, min(max(w, h) // draft_side, min(w, h) // MIN_SIDE)) if draft_side else 1
    if w * h >= _REDUCE_PIXELS:
        out = to_rgb_in_strips(img, factor, _STRIP_PIXELS)
    else:
        out = to_rgb(img, img, img.info.get("icc_profile"))
        if out is img:  # untouched decoder object: hand back a plain in-memory copy
            out = img.copy()
    if turn is not None:
        out = out.transpose(turn)
    out.info = {}
    return out


def _draft(img: ImageFile.ImageFile, draft_side: int) -> None:
    """JPEG DCT scaling: smallest 1/2^n decode whose long side is still >= draft_side."""
    w, h = img.size
    long_side = max(w, h)
    if draft_side >= long_side:
        return
    scale = draft_side / long_side
    # The short side must not drop under MIN_SIDE either.
    req_w = min(w, max(math.ceil(w * scale), MIN_SIDE, 1))
    req_h = min(h, max(math.ceil(h * scale), MIN_SIDE, 1))
    img.draft("RGB", (req_w, req_h))


__all__ = [
    "MAX_PIXELS",
    "PHOTO_DECODE_PIXELS",
    "STYLE_DECODE_PIXELS",
    "MIN_SIDE",
    "MAX_RATIO",
    "MAX_ICC_BYTES",
    "load_image",
    "fit_max_side",
    "output_size",
    "encode_image",
    "format_for_path",
]
