"""Brush size: the resolution at which the transformer sees the photo.

Magenta's transformer paints strokes of a fixed size in *its input's* pixels,
so the stroke size relative to the picture is set by the resolution of the
pass, not by the output size.  A brush picks that resolution:

* ``fine``   — the output's own resolution (strokes are tiny at 1280 px and
  HD outputs are tiled, as before brushes existed);
* ``medium`` / ``bold`` — a pass of at most ``PAINT_PIXELS[brush]`` pixels
  (aspect kept), brought up to the output size by ``upsample`` (medium) or
  ``rebuild`` (bold).

The same painting therefore looks the same at 1280 px and at 4096 px, and a
bold brush is the cheapest one.

**Guided upsampling.**  A plain resize of a small painting blurs the photo's
edges.  ``upsample`` adds back the photo detail that the small pass never saw:

    out = up(P) + g · (Y − up(Y_small))

``up`` is a bicubic resize, Y the full-resolution photo's luma, Y_small the
luma of the photo as the transformer saw it, and ``g`` (one per colour channel)
the guided filter's local linear coefficient of the painting on the photo's
luma, ``a = cov(Y, P) / (var(Y) + ε)`` over small windows of the small pass,
smoothed and bilinearly upsampled — with its magnitude raised to at least
``MIN_GAIN``.  Where the painting follows the photo, ``a`` is large and the
photo's edge comes back at its own contrast; elsewhere the floor still puts the
photo's edges back where they are (the small pass only ever saw them blurred),
which is what keeps object edges crisp and single instead of a sharp detail line
beside a blurred stroke edge (a double outline).  Inside flat strokes the photo
has no detail, so the strokes stay as painted.

Full-size arrays stay uint8 (the painting, ``a`` and Y_small are resized by
OpenCV's fast uint8 paths; ``a`` quantized to 1/63) and the sum is int16 fixed
point in bands of rows, so peak memory stays about input + output + three uint8
copies, and no float image of the output's size is ever made.
**Rebuilding (bold).**  Bold's pass is over 3× smaller than a 1280 px output, and its
own edges, blurred and a little off the photo's, stay beside the detail added back
(a soft edge beside a sharp line).  ``rebuild`` keeps the painting's local linear model
on the photo's luma instead of its pixels (He et al.'s fast guided filter):

    out = up(a) · Y + up(b)

with ``a``, ``b`` fitted over small windows of the small pass (``linear_model``), so
every edge in the output is the full-size photo's own, once, at ``a`` times its
contrast.  Away from the photo's edges ``b`` also carries what the model misses
there — the strokes as painted.  Full-size arrays stay uint8 (``a``) and int16
(``b``), float only per band.
Alternatives measured against these (shock filter after the upscale, a style
zoom, a smaller or larger bold pass, the detail path for bold) are in
bench/RESULTS-brush-alternatives.md.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from nst.tiling import fit_pixels

BRUSHES = ("bold", "medium", "fine")
#: When neither the caller nor the preset says otherwise (chosen on the contact
#: sheet, docs/brush-sheet.jpg).
DEFAULT_BRUSH = "bold"
#: Pixels of the transformer's pass per brush: the area of a 3:2 picture with
#: a long side of 384 / 768 px (None: the output's own resolution).
PAINT_PIXELS: dict[str, int | None] = {
    "bold": 384 * 384 * 2 // 3,
    "medium": 768 * 768 * 2 // 3,
    "fine": None,
}
#: Guided-filter window radius (pixels of the small pass) and ε (on 0..1 luma):
#: ε sets how much photo contrast a window needs before the painting's own gain
#: on it counts.
RADIUS = 2
EPS = 0.02 ** 2
#: The gain's magnitude is clipped to MIN_GAIN..MAX_GAIN: a painting may invert the
#: photo's tones, but a larger gain would only amplify noise, and a smaller one
#: leaves the photo's edges as blurred as the small pass saw them.
MIN_GAIN = 1.0
MAX_GAIN = 2.0
#: Brushes whose painting is rebuilt at the output size from its local linear model on
#: the photo (``linear_model``) instead of getting the photo's detail added
#: (bench/RESULTS-brush-alternatives.md compares them): the stroke and object edges
#: come from the full-size photo, so a 3×+ enlargement stays crisp and single.
MODEL_BRUSHES = frozenset({"bold"})
#: The model's gain floor (edges a little above the photo's own contrast, as painted
#: edges are) and the radius of the final averaging of a and b (small-pass pixels).
MODEL_MIN_GAIN = 1.1
MODEL_RADIUS = 1
#: Canny thresholds (8-bit luma of the small pass) of the edges where only the model
#: counts; 3×3 dilated, softened over 3×3.
MODEL_CANNY = (60, 140)
#: b travels to the output size as int16 in steps of 1/B_STEPS of a 0..255 level.
B_STEPS = 8
_Y = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Output pixels per band of the full-resolution step.
BAND_PIXELS = 1 << 20


def check_brush(brush: object) -> str:
    """The brush name, or ValueError naming the allowed values."""
    if not isinstance(brush, str) or brush not in BRUSHES:
        raise ValueError(f"brush must be one of {', '.join(BRUSHES)}, not {brush!r}")
    return brush


def paint_size(width: int, height: int, brush: str) -> tuple[int, int] | None:
    """(w, h) of the transformer's pass for an output of width×height, or None when
    the brush paints at the output's own resolution."""
    budget = PAINT_PIXELS[check_brush(brush)]
    if budget is None or width * height <= budget:
        return None
    ph, pw = fit_pixels(height, width, budget)
    return max(1, pw), max(1, ph)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over (2r+1)² windows (edge-replicated), for H×W or H×W×C float32 arrays."""
    import cv2  # lazily: importing nst.brush for its names (the bot's keyboards) stays cheap

    n = 2 * r + 1
    return cv2.boxFilter(x, -1, (n, n), borderType=cv2.BORDER_REPLICATE)


def luma(rgb: np.ndarray) -> np.ndarray:
    """0..255 float32 luma (BT.601, as Pillow's "L") of a uint8 RGB array."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)


def gains(photo_small: np.ndarray, painting: np.ndarray,
          radius: int = RADIUS, eps: float = EPS, min_gain: float = MIN_GAIN) -> np.ndarray:
    """The guided filter's per-channel ``a`` (H×W×3 float32) of the painting on the
    small photo's luma, averaged over the windows as in He et al., its magnitude
    clipped to min_gain..MAX_GAIN."""
    y = luma(photo_small) / np.float32(255.0)
    p = painting.astype(np.float32) / np.float32(255.0)
    my = _box(y, radius)
    mp = _box(p, radius)
    cov = _box(y[..., None] * p, radius) - my[..., None] * mp
    var = _box(y * y, radius) - my * my
    a = cov / (np.maximum(var, 0.0)[..., None] + np.float32(eps))
    np.clip(a, -MAX_GAIN, MAX_GAIN, out=a)
    a = _box(a, radius)
    # A weak channel takes the floor with the sign of the luma's gain: channels floored
    # in opposite directions would paint the photo's edges in false colours.
    sign = np.where(a @ _Y < 0, np.float32(-min_gain), np.float32(min_gain))[..., None]
    return np.where(np.abs(a) < min_gain, sign, a).astype(np.float32)


def linear_model(photo_small: np.ndarray, painting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's model ``painting ≈ a·Y + b`` of the small pass (He et al.'s fast
    guided filter): per-channel ``a`` and ``b`` (H×W×3 float32, Y on 0..1), both averaged
    over the same windows so that neighbouring models agree.  Away from the photo's edges
    ``b`` also carries what the model misses (the strokes, as painted); at the edges only
    the model counts, so the edge that reaches the output is the photo's, single and crisp."""
    import cv2

    y8 = cv2.cvtColor(np.ascontiguousarray(photo_small), cv2.COLOR_RGB2GRAY)
    y = y8.astype(np.float32) / np.float32(255.0)
    a = gains(photo_small, painting, min_gain=MODEL_MIN_GAIN)
    p = painting.astype(np.float32) / np.float32(255.0)
    b = _box(p, RADIUS) - a * _box(y, RADIUS)[..., None]
    a, b = _box(a, MODEL_RADIUS), _box(b, MODEL_RADIUS)
    edges = cv2.dilate(cv2.Canny(y8, *MODEL_CANNY), np.ones((3, 3), np.uint8))
    keep = 1.0 - np.clip(_box(edges.astype(np.float32) / np.float32(170.0), 1), 0.0, 1.0)
    b += keep[..., None] * (p - (a * y[..., None] + b))
    return a, b


#: ``a`` travels to the output size as uint8 a8 = (a + MAX_GAIN) in steps of 1/GAIN_STEPS
#: (0..252), so a8 · detail / GAIN_STEPS fits int16.
GAIN_STEPS = 63


def upsample(painting: np.ndarray, photo_small: Image.Image | np.ndarray,
             photo: Image.Image | np.ndarray,
             post: Callable[[np.ndarray, int], None] | None = None,
             guided: bool = True) -> Image.Image:
    """The small uint8 ``painting`` (of ``photo_small``) at ``photo``'s size, edges
    guided by ``photo`` (images or uint8 RGB arrays).  ``post(band, y0)`` may edit each
    finished uint8 band in place (keep-colours).  ``guided=False`` is the plain bicubic
    resize (for comparisons)."""
    import cv2

    full = _rgb_array(photo)
    h, w = full.shape[:2]
    out = cv2.resize(np.ascontiguousarray(painting), (w, h), interpolation=cv2.INTER_CUBIC)
    if guided:
        # Full-size arrays stay uint8 and the per-band sum is int16 fixed point: OpenCV's
        # saturating SIMD paths, no float image at the output size.
        small = _rgb_array(photo_small)
        a = gains(small, painting)
        a += np.float32(MAX_GAIN)
        a *= np.float32(GAIN_STEPS)
        a8 = cv2.resize(np.rint(a).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
        ys8 = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (w, h),
                         interpolation=cv2.INTER_CUBIC)
    rows = max(16, BAND_PIXELS // max(1, w))
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        band = out[y0:y1]
        if guided:
            detail = cv2.subtract(cv2.cvtColor(full[y0:y1], cv2.COLOR_RGB2GRAY), ys8[y0:y1],
                                  dtype=cv2.CV_16S)
            detail3 = cv2.merge((detail, detail, detail))
            # a·detail = (a8 / GAIN_STEPS − MAX_GAIN)·detail, each term within int16
            gain = cv2.multiply(a8[y0:y1], detail3, scale=1.0 / GAIN_STEPS, dtype=cv2.CV_16S)
            gain = cv2.addWeighted(gain, 1.0, detail3, -MAX_GAIN, 0.0, dtype=cv2.CV_16S)
            cv2.add(band, gain, dst=band, dtype=cv2.CV_8U)
        if post is not None:
            post(band, y0)
    if guided:
        del a8, ys8   # freed before Pillow's copy of the output: a lower peak in HD
    return Image.fromarray(out, "RGB")


def rebuild(painting: np.ndarray, photo_small: Image.Image | np.ndarray,
            photo: Image.Image | np.ndarray,
            post: Callable[[np.ndarray, int], None] | None = None) -> Image.Image:
    """The small uint8 ``painting`` (of ``photo_small``) at ``photo``'s size as
    ``a·Y + b`` (``linear_model`` upsampled bilinearly, Y the full-size photo's luma):
    the fast guided filter's upsampling.  ``post(band, y0)`` as in ``upsample``."""
    import cv2

    full = _rgb_array(photo)
    h, w = full.shape[:2]
    a, b = linear_model(_rgb_array(photo_small), painting)
    # a as uint8 (as in upsample), b as int16: the full-size copies stay small.
    a += np.float32(MAX_GAIN)
    a *= np.float32(GAIN_STEPS)
    a8 = cv2.resize(np.rint(a).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    b16 = cv2.resize(np.rint(np.clip(b * (255 * B_STEPS), -32000, 32000)).astype(np.int16), (w, h),
                     interpolation=cv2.INTER_CUBIC)
    out = np.empty((h, w, 3), np.uint8)
    rows = max(16, BAND_PIXELS // max(1, w))
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        y = cv2.cvtColor(full[y0:y1], cv2.COLOR_RGB2GRAY)
        y3 = cv2.merge((y, y, y))
        # out = (a8/GAIN_STEPS − MAX_GAIN)·Y + b16/B_STEPS, Y on 0..255: int16 fixed point
        band = cv2.multiply(a8[y0:y1], y3, scale=1.0 / GAIN_STEPS, dtype=cv2.CV_16S)
        band = cv2.addWeighted(band, 1.0, y3, -MAX_GAIN, 0.0, dtype=cv2.CV_16S)
        cv2.addWeighted(band, 1.0, b16[y0:y1], 1.0 / B_STEPS, 0.0, dst=out[y0:y1],
                        dtype=cv2.CV_8U)
        if post is not None:
            post(out[y0:y1], y0)
    del a8, b16
    return Image.fromarray(out, "RGB")


def _rgb_array(img: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(img, np.ndarray):
        return np.ascontiguousarray(img)
    return np.asarray(img if img.mode == "RGB" else img.convert("RGB"))


def paint(img: Image.Image, brush: str,
          render: Callable[[Image.Image], np.ndarray],
          post: Callable[[np.ndarray, int], None] | None = None) -> Image.Image | None:
    """``img`` (already at the output size) painted with ``brush``: ``render(small)``
    stylizes the photo at the brush's resolution (uint8 array), then it is
    upsampled guided by ``img``.  None when the brush paints at full resolution
    (the caller's usual path)."""
    size = paint_size(img.width, img.height, brush)
    if size is None:
        return None
    import cv2

    full = _rgb_array(img)   # one copy out of Pillow, shared by both steps
    # INTER_AREA: an exact box average, as good as Lanczos this far down and much cheaper
    small = cv2.resize(full, size, interpolation=cv2.INTER_AREA)
    grow = rebuild if brush in MODEL_BRUSHES else upsample
    return grow(render(Image.fromarray(small, "RGB")), small, full, post)


__all__ = [
    "BRUSHES",
    "DEFAULT_BRUSH",
    "PAINT_PIXELS",
    "check_brush",
    "gains",
    "linear_model",
    "luma",
    "paint",
    "paint_size",
    "rebuild",
    "upsample",
]
