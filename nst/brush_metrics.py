"""How a brush looks, in numbers (tests, bench/cases_brush.py and the contact sheet use them).

* ``edge_sharpness`` — mean luma gradient magnitude of a picture at the photo's own
  Canny edges: are object edges as crisp as the photo's?
* ``stroke_frequency`` — the spectral centroid (cycles per pixel) of the stylization
  residual (picture's luma − photo's luma): falls as strokes grow.
* ``double_outline`` — at the photo's strongest edges, how much a second edge runs
  beside the real one: the strongest gradient 3–8 px off the edge along its normal,
  over the gradient on the edge (a ghost of the edge, a halo or a shifted copy).
"""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

#: Canny thresholds on the 8-bit luma of the photo after a light blur (structure,
#: not sensor noise).
CANNY_LOW, CANNY_HIGH = 60, 140
#: "Strong" edges for the double-outline measure: the top fraction of the photo's
#: gradient magnitude among its Canny edges.
STRONG_TOP = 0.25
#: Offsets (pixels along the edge normal) searched for a second outline.
GHOST_NEAR, GHOST_FAR = 3, 8


def _gray(img: Image.Image | np.ndarray) -> np.ndarray:
    rgb = np.asarray(img.convert("RGB")) if isinstance(img, Image.Image) else img
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _gradient(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = gray.astype(np.float32) / np.float32(255.0)
    return (cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / np.float32(8.0),
            cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / np.float32(8.0))


def photo_edges(photo: Image.Image) -> np.ndarray:
    """Boolean mask of the photo's Canny edges."""
    gray = cv2.GaussianBlur(_gray(photo), (0, 0), 1.0)
    return cv2.Canny(gray, CANNY_LOW, CANNY_HIGH) > 0


def edge_sharpness(img: Image.Image, edges: np.ndarray) -> float:
    """Mean gradient magnitude (luma 0..1 per pixel) of ``img`` over the ``edges`` mask."""
    gx, gy = _gradient(_gray(img))
    return float(np.hypot(gx, gy)[edges].mean())


def relative_sharpness(img: Image.Image, photo: Image.Image) -> float:
    """``edge_sharpness`` of ``img`` over the photo's own at its Canny edges: comparable
    across output sizes (1 = exactly as crisp as the photo at that size)."""
    edges = photo_edges(photo)
    return edge_sharpness(img, edges) / edge_sharpness(photo, edges)


def stroke_frequency(img: Image.Image, photo: Image.Image) -> float:
    """Spectral centroid (cycles/pixel, 0..~0.7) of the residual luma(img) − luma(photo),
    Hann-windowed: the strokes' typical size, as a frequency (lower = bigger strokes)."""
    r = _gray(img).astype(np.float32) - _gray(photo).astype(np.float32)
    r -= r.mean()
    h, w = r.shape
    r *= np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    power = np.abs(np.fft.rfft2(r)) ** 2
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius = np.hypot(fy, fx)
    power[0, 0] = 0.0
    return float((radius * power).sum() / power.sum())


def double_outline(img: Image.Image, photo: Image.Image) -> float:
    """Mean over the photo's strongest edges of max |gradient along the normal| at
    GHOST_NEAR..GHOST_FAR px on either side, over |gradient| on the edge itself.
    Near 0: one clean edge; the photo's own figure is the floor (real edges nearby)."""
    gray_p = cv2.GaussianBlur(_gray(photo), (0, 0), 1.0)
    edges = cv2.Canny(gray_p, CANNY_LOW, CANNY_HIGH) > 0
    px, py = _gradient(gray_p)
    mag = np.hypot(px, py)
    ys, xs = np.nonzero(edges)
    strength = mag[ys, xs]
    keep = strength >= np.quantile(strength, 1.0 - STRONG_TOP)
    ys, xs = ys[keep].astype(np.float32), xs[keep].astype(np.float32)
    nx, ny = px[edges][keep] / strength[keep], py[edges][keep] / strength[keep]
    gx, gy = _gradient(_gray(img))
    steps = np.arange(-GHOST_FAR, GHOST_FAR + 1, dtype=np.float32)
    mx = (xs[:, None] + steps[None, :] * nx[:, None]).astype(np.float32)
    my = (ys[:, None] + steps[None, :] * ny[:, None]).astype(np.float32)
    sx = cv2.remap(gx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sy = cv2.remap(gy, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    along = np.abs(sx * nx[:, None] + sy * ny[:, None])   # gradient across the edge
    centre = GHOST_FAR
    on_edge = along[:, centre - 1: centre + 2].max(axis=1)
    off = np.abs(steps) >= GHOST_NEAR
    ghost = along[:, off].max(axis=1)
    return float(np.mean(ghost / np.maximum(on_edge, 1e-3)))


__all__ = ["double_outline", "edge_sharpness", "photo_edges", "relative_sharpness",
           "stroke_frequency"]

