"""Colour and mode handling for decoded pictures: any Pillow mode -> sRGB RGB.

Used by :mod:`nst.images`: CMYK polarity of JPEGs without an Adobe marker,
every decoded mode brought to L / RGB / RGBA / CMYK (16-bit and 32-bit greyscale
scaled, not clipped, to 8 bits), embedded ICC profiles converted to sRGB, and
alpha composited on white; ``to_rgb_in_strips`` does it all a strip at a time for big
pictures (shrinking as it goes).
"""
from __future__ import annotations

import io
import logging
import math

import numpy as np
from PIL import Image, ImageCms

log = logging.getLogger(__name__)

# Embedded ICC profiles larger than this are ignored (treated as untagged):
# real display profiles (sRGB, Display P3) are a few KB; multi-MB blobs are
# either print LUT profiles or junk, and not worth the parse time on a request.
MAX_ICC_BYTES = 1 << 20

# Pillow's format names for JPEG files (MPO: multi-picture JPEG); nst.images uses it too.
JPEG_FORMATS = ("JPEG", "MPO")

_WHITE = (255, 255, 255)


def cmyk_polarity(out: Image.Image, src: Image.Image) -> Image.Image:
    """Pillow always reads CMYK JPEGs with Adobe (inverted) polarity.

    That is right for files with an Adobe APP14 marker (Photoshop & co.); a
    CMYK JPEG without that marker stores plain CMYK, which Pillow would turn
    into a negative, so undo the inversion for those.
    """
    if out.mode == "CMYK" and src.format in JPEG_FORMATS and "adobe" not in src.info:
        return out.point(lambda v: 255 - v)
    return out


def normalize_mode(img: Image.Image,
                   value_range: tuple[float, float] | None = None) -> Image.Image:
    """Bring any decoded mode to one of L, RGB, RGBA, CMYK (ICC-friendly). `value_range`:
    the (min, max) of the whole picture when `img` is one strip of a 32-bit / float one."""
    mode = img.mode
    if mode in ("RGB", "L"):
        return img.convert("RGBA") if "transparency" in img.info else img
    if mode in ("RGBA", "CMYK"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA") if img.has_transparency_data else img.convert("RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode.startswith("I") or mode == "F":
        return normalize_mode(_high_depth_to_l(img, value_range))
    return img.convert("RGB")  # RGBX, YCbCr, LAB, HSV, …


def high_depth_range(img: Image.Image) -> tuple[float, float] | None:
    """(min, max) of a 32-bit integer or float grey picture (what its scaling to 8 bits
    depends on); None for every other mode."""
    if img.mode not in ("I", "F"):
        return None
    extrema = img.getextrema()   # one band: (min, max)
    lo, hi = float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN / inf: as the whole-array path
        data = np.nan_to_num(np.asarray(img, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        return (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    return lo, hi


def _high_depth_to_l(img: Image.Image,
                     value_range: tuple[float, float] | None = None) -> Image.Image:
    """16-bit / 32-bit integer and float greyscale -> 8-bit L, scaled, not clipped."""
    arr = np.asarray(img)
    mode = img.mode
    data = arr.astype(np.float32)
    if mode.startswith("I;16"):
        data = data / 257.0
    else:
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        if value_range is not None:
            lo, hi = value_range
        else:
            lo = float(data.min()) if data.size else 0.0
            hi = float(data.max()) if data.size else 0.0
        if mode == "F" and lo >= 0.0 and hi <= 1.0:
            data = data * 255.0
        elif lo >= 0.0 and hi <= 255.0:
            pass
        elif lo >= 0.0 and hi <= 65535.0:
            data = data / 257.0
        elif hi > lo:
            data = (data - lo) * (255.0 / (hi - lo))
        else:
            data = np.zeros_like(data)
    grey = Image.fromarray(np.clip(data + 0.5, 0, 255).astype(np.uint8))
    transparency = img.info.get("transparency")
    if isinstance(transparency, int) and mode.startswith("I"):
        alpha = Image.fromarray(np.where(arr == transparency, 0, 255).astype(np.uint8))
        return Image.merge("LA", (grey, alpha))
    return grey


_ICC_SPACE_FOR_MODE = {"RGB": b"RGB ", "RGBA": b"RGB ", "CMYK": b"CMYK", "L": b"GRAY"}


def to_srgb(img: Image.Image, icc: object) -> Image.Image:
    """Convert from an embedded ICC profile to sRGB; any problem = keep as is."""
    transform = srgb_transform(img.mode, icc)
    if transform is None:
        return img
    try:
        converted = ImageCms.applyTransform(img, transform)
        return converted if converted is not None else img
    except Exception:  # broken / unsupported profile: treat as untagged
        log.debug("ignoring unusable ICC profile", exc_info=True)
        return img


def srgb_transform(mode: str, icc: object) -> ImageCms.ImageCmsTransform | None:
    """The transform from an embedded ICC profile to sRGB for images of `mode`; None
    when there is nothing (usable) to convert."""
    if not isinstance(icc, (bytes, bytearray)) or not 128 < len(icc) <= MAX_ICC_BYTES:
        return None
    if icc[36:40] != b"acsp" or _ICC_SPACE_FOR_MODE.get(mode) != icc[16:20]:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(bytes(icc)))
        if mode in ("RGB", "RGBA"):
            description = (profile.profile.profile_description or "").strip().lower()
            if description.startswith("srgb"):
                return None
        return ImageCms.buildTransform(
            profile,
            ImageCms.createProfile("sRGB"),
            mode,
            "RGBA" if mode == "RGBA" else "RGB",
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except Exception:  # broken / unsupported profile: treat as untagged
        log.debug("ignoring unusable ICC profile (%d bytes)", len(icc), exc_info=True)
        return None


def to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    if img.mode in ("RGB", "RGBA"):
        return img
    if img.has_transparency_data:
        return img.convert("RGBA")
    if img.mode.startswith("I") or img.mode == "F":
        return _high_depth_to_l(img).convert("RGB")
    return img.convert("RGB")


def flatten_on_white(img: Image.Image) -> Image.Image:
    """RGBA/LA -> RGB over a white background (transparent = white, not black)."""
    if img.mode not in ("RGBA", "LA"):
        return img
    rgba = img.convert("RGBA") if img.mode != "RGBA" else img
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, (0, 0), rgba)  # its own alpha as the mask: no full-size copy
    return background


def to_rgb(part: Image.Image, src: Image.Image, icc: object,
           value_range: tuple[float, float] | None = None) -> Image.Image:
    """Any mode → RGB: CMYK polarity (`src` is the decoded file `part` comes from),
    8 bits, ICC → sRGB, alpha on white."""
    out = cmyk_polarity(part, src)
    out = normalize_mode(out, value_range)
    out = to_srgb(out, icc)
    out = flatten_on_white(out)
    return out if out.mode == "RGB" else out.convert("RGB")


def to_rgb_in_strips(img: Image.Image, factor: int, strip_pixels: int) -> Image.Image:
    """Convert a big decoded picture to RGB (shrunk by an integer ``factor``) one strip
    of about ``strip_pixels`` at a time, so no full-size converted copy (16-bit → 8-bit
    arrays, RGBA, the ICC transform's output, the alpha flattening) is ever made: memory
    is the decoded picture plus one strip. 32-bit and float grey are scaled by the range of the whole
    picture, not of each strip."""
    w, h = img.size
    icc = img.info.get("icc_profile")
    value_range = high_depth_range(img)
    out_w, out_h = w // factor, h // factor
    if factor == 1 and img.mode == "RGB" and not icc and "transparency" not in img.info:
        return img.copy()
    out = Image.new("RGB", (out_w, out_h))
    rows = factor * max(1, strip_pixels // (w * factor))
    for top in range(0, out_h * factor, rows):
        strip = img.crop((0, top, out_w * factor, min(top + rows, out_h * factor)))
        strip = to_rgb(strip, img, icc, value_range)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


__all__ = ["MAX_ICC_BYTES", "JPEG_FORMATS", "cmyk_polarity", "normalize_mode", "to_srgb",
           "high_depth_range", "to_rgb", "to_rgb_in_strips", "srgb_transform",
           "to_rgb_or_rgba", "flatten_on_white"]
