"""Brush size: the resolution at which the transformer sees the photo.

Magenta's transformer paints strokes of a fixed size in *its input's* pixels,
so the stroke size relative to the picture is set by the resolution of the
pass, not by the output size.  A brush picks that resolution:

* ``fine``   — the output's own resolution (strokes are tiny at 1280 px and
  HD outputs are tiled, as before brushes existed);
* ``medium`` / ``bold`` — a pass of at most ``PAINT_PIXELS[brush]`` pixels
  (aspect kept), brought up to the output size by ``upsample``.

The same painting therefore looks the same at 1280 px and at 4096 px, and a
bold brush is cheaper than a fine one.

**Guided upsampling.**  A plain (Lanczos) resize of a small painting blurs the
photo's edges.  ``upsample`` adds back the photo detail that the small pass
never saw, but only where the painting follows the photo:

    out = up(P) + a · (Y − up(Y_small))

``up`` is a Lanczos resize, Y the full-resolution photo's luma, Y_small the
luma of the photo as the transformer saw it, and ``a`` (one per colour
channel) the local linear coefficient of the painting on the photo's luma —
the guided filter's ``a = cov(Y, P) / (var(Y) + ε)`` over small windows of
the small pass, smoothed and bilinearly upsampled.  Along an edge of the photo
that the painting kept, ``a`` is large and the edge comes back crisp; inside
strokes the painting does not follow the photo, ``a ≈ 0``, and the big strokes
stay untouched.  The work is done in bands of rows, so peak memory stays about
input + output + one band, as in ``nst.tiling``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from nst.tiling import fit_pixels, paste_rows

BRUSHES = ("bold", "medium", "fine")
#: When neither the caller nor the preset says otherwise (chosen on the contact
#: sheet, docs/brush-sheet.jpg).
DEFAULT_BRUSH = "bold"
#: Pixels of the transformer's pass per brush: the area of a 3:2 picture with
#: a long side of 448 / 768 px (None: the output's own resolution).
PAINT_PIXELS: dict[str, int | None] = {
    "bold": 448 * 448 * 2 // 3,
    "medium": 768 * 768 * 2 // 3,
    "fine": None,
}
#: Guided-filter window radius (pixels of the small pass) and ε (on 0..1 luma):
#: ε sets how much photo contrast a window needs before its detail returns.
RADIUS = 2
EPS = 0.02 ** 2
#: ``a`` is clipped to ± this: a painting may invert the photo's tones, but a
#: larger gain would only amplify noise.
MAX_GAIN = 2.0
#: Rows per band of the full-resolution step.
BAND_ROWS = 256

_Y = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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
    """Mean over (2r+1)² windows (edge-replicated), for H×W or H×W×C float arrays."""
    pad = [(r + 1, r), (r + 1, r)] + [(0, 0)] * (x.ndim - 2)
    c = np.pad(x, pad, mode="edge").cumsum(0).cumsum(1)
    n = 2 * r + 1
    s = c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]
    return s / np.float32(n * n)


def luma(rgb: np.ndarray) -> np.ndarray:
    """0..1 float32 luma of a uint8 (or 0..255 float) RGB array."""
    return (rgb.astype(np.float32) @ _Y) / np.float32(255.0)


def gains(photo_small: np.ndarray, painting: np.ndarray,
          radius: int = RADIUS, eps: float = EPS) -> np.ndarray:
    """The guided filter's per-channel ``a`` (H×W×3 float32) of the painting on the
    small photo's luma, averaged over the windows as in He et al."""
    y = luma(photo_small)
    p = painting.astype(np.float32) / np.float32(255.0)
    my = _box(y, radius)
    mp = _box(p, radius)
    cov = _box(y[..., None] * p, radius) - my[..., None] * mp
    var = _box(y * y, radius) - my * my
    a = cov / (np.maximum(var, 0.0)[..., None] + np.float32(eps))
    np.clip(a, -MAX_GAIN, MAX_GAIN, out=a)
    return _box(a, radius).astype(np.float32)


def upsample(painting: np.ndarray, photo_small: Image.Image, photo: Image.Image,
             post: Callable[[np.ndarray, int], None] | None = None,
             guided: bool = True) -> Image.Image:
    """The small uint8 ``painting`` (of ``photo_small``) at ``photo``'s size, edges
    guided by ``photo``.  ``post(band, y0)`` may edit each finished uint8 band in
    place (keep-colours).  ``guided=False`` is the plain Lanczos resize (for
    comparisons)."""
    w, h = photo.size
    ph, pw = painting.shape[:2]
    fy = h / ph
    paint_img = Image.fromarray(painting, "RGB")
    if guided:
        a = gains(np.asarray(photo_small), painting)
        a_imgs = [Image.fromarray(np.ascontiguousarray(a[..., c]), "F") for c in range(3)]
        y_small = Image.fromarray(luma(np.asarray(photo_small)), "F")
    out = Image.new("RGB", (w, h))
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        box = (0.0, y0 / fy, float(pw), y1 / fy)
        size = (w, y1 - y0)
        band = np.asarray(paint_img.resize(size, Image.Resampling.LANCZOS, box=box),
                          dtype=np.float32)
        if guided:
            detail = luma(np.asarray(photo.crop((0, y0, w, y1))))
            detail -= np.asarray(y_small.resize(size, Image.Resampling.LANCZOS, box=box))
            detail *= np.float32(255.0)
            for c in range(3):
                gain = np.asarray(a_imgs[c].resize(size, Image.Resampling.BILINEAR, box=box))
                band[..., c] += gain * detail
        paste_rows(out, band, y0, post)
    return out


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
    small = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return upsample(render(small), small, img, post)


# --- metrics (tests and the contact sheet use them) ---------------------------------------
def _sobel(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.pad(y, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return gx, gy


def edge_mask(photo: Image.Image, top: float = 0.05) -> np.ndarray:
    """Boolean mask of the photo's strongest edges (top fraction of the Sobel
    magnitude of the lightly blurred luma: structure, not sensor noise)."""
    from PIL import ImageFilter

    y = luma(np.asarray(photo.convert("RGB").filter(ImageFilter.GaussianBlur(1.5))))
    gx, gy = _sobel(y)
    mag = np.hypot(gx, gy)
    return mag >= np.quantile(mag, 1.0 - top)


def edge_energy(img: Image.Image, mask: np.ndarray) -> float:
    """Mean squared luma gradient of ``img`` over ``mask``."""
    gx, gy = _sobel(luma(np.asarray(img.convert("RGB"))))
    return float((gx * gx + gy * gy)[mask].mean())


def stroke_length(img: Image.Image, sigma: float = 12.0) -> float:
    """Texture autocorrelation length in pixels: the lag at which the radially
    averaged autocorrelation of the high-passed luma falls to 1/2 (linearly
    interpolated).  Larger strokes → longer."""
    from PIL import ImageFilter

    rgb = img.convert("RGB")
    y = luma(np.asarray(rgb)) - luma(np.asarray(rgb.filter(ImageFilter.GaussianBlur(sigma))))
    y = y - y.mean()
    f = np.fft.rfft2(y, s=(2 * y.shape[0], 2 * y.shape[1]))
    ac = np.fft.irfft2(f * np.conj(f))[: y.shape[0], : y.shape[1]]
    ac /= ac[0, 0]
    prev = 1.0
    for lag in range(1, min(y.shape) // 2):
        val = float(ac[lag, 0] + ac[0, lag]) / 2.0
        if val <= 0.5:
            return lag - 1 + (prev - 0.5) / max(prev - val, 1e-9)
        prev = val
    return float(min(y.shape) // 2)


__all__ = [
    "BRUSHES",
    "DEFAULT_BRUSH",
    "PAINT_PIXELS",
    "check_brush",
    "edge_energy",
    "edge_mask",
    "gains",
    "paint",
    "paint_size",
    "stroke_length",
    "upsample",
]
