"""Stylize big images in bounded memory, without seams.

The transformer's memory grows with the pixels of one pass (a whole 4096-px
pass needs gigabytes on any runtime: bench/ ``rss`` rows), and it uses
instance normalisation, so tiles stylized separately differ in colour and
contrast.  For an output larger than ``max_pixels``:

1. **Global pass**: the whole picture, scaled down to ≤ ``max_pixels``, gives
   the global look (colours, tones, large shapes).
2. **Tiles**: overlapping tiles of ≤ ``max_pixels`` at full resolution give the
   brush-stroke detail.
3. **Combine** per tile: low frequencies from the upscaled global result, high
   frequencies from the tile (``tile − blur(tile)``; a Gaussian with σ a few
   global pixels), then the tiles are cross-faded with raised-cosine weights
   that sum to one, each tile's outer ``margin`` pixels (the network's padding
   and the blur's edge) having weight 0.  Per-tile normalisation differences are
   mostly low-frequency, which step 3 replaces, and what remains is faded over
   the overlap — no seams (tests/test_engine.py measures it).

The output is assembled in horizontal bands pasted into the result image: no
full-size numpy copy of the input or output exists, so peak memory ≈ input
image + output image + one float32 band + one pass's runtime memory.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

#: Length of the cross-fade between neighbouring tiles (output pixels); the
#: overlap is RAMP + 2·margin.
RAMP = 64
#: Blur σ for the frequency split, in pixels of the global pass.
SIGMA_GLOBAL_PX = 2.5
#: Never blur less than this (output pixels).
MIN_SIGMA = 2.0
#: Weight-0 border of each tile, in σ (network padding and blur edge effects).
MARGIN_SIGMAS = 1.0

Transfer = Callable[[np.ndarray], np.ndarray]   # float32 HxWx3 0..1 -> same


@dataclass(frozen=True)
class Grid:
    tile_h: int
    tile_w: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    margin: int

    @property
    def count(self) -> int:
        return len(self.ys) * len(self.xs)


def fit_pixels(h: int, w: int, max_pixels: int) -> tuple[int, int]:
    """(h, w) scaled down (aspect kept) so that h·w ≤ max_pixels."""
    if h * w <= max_pixels:
        return h, w
    s = math.sqrt(max_pixels / (h * w))
    gh, gw = max(1, int(h * s)), max(1, int(w * s))
    while gh * gw > max_pixels:  # rounding guard
        if gh >= gw:
            gh -= 1
        else:
            gw -= 1
    return gh, gw


def _axis(length: int, n: int, overlap: int) -> tuple[int, list[int]]:
    """Tile size and evenly spread starts for n tiles covering length with ≥ overlap."""
    if n == 1:
        return length, [0]
    size = -(-(length + (n - 1) * overlap) // n)
    size = min(length, -(-size // 4) * 4)
    starts = [round(i * (length - size) / (n - 1)) for i in range(n)]
    return size, starts


def plan_grid(h: int, w: int, max_pixels: int, margin: int) -> Grid:
    """The cheapest grid of equal tiles, each ≤ max_pixels, overlapping by ≥ RAMP + 2·margin.

    If tiles that small cannot hold such an overlap (tiny ``max_pixels``), the
    ramp and margin are halved until they fit.
    """
    ramp = RAMP
    while True:
        grid = _plan(h, w, max_pixels, ramp, margin)
        if grid is not None:
            return grid
        if ramp <= 4 and margin <= 0:
            raise ValueError(f"cannot tile {w}x{h} into passes of {max_pixels} pixels")
        ramp, margin = max(4, ramp // 2), margin // 2


def _plan(h: int, w: int, max_pixels: int, ramp: int, margin: int) -> Grid | None:
    overlap = ramp + 2 * margin
    best = None
    max_n = 1 + max(h, w) // max(1, overlap)
    for ny in range(1, max_n + 1):
        th, ys = _axis(h, ny, overlap)
        if ny > 1 and th < 2 * overlap:
            break
        for nx in range(1, max_n + 1):
            tw, xs = _axis(w, nx, overlap)
            if nx > 1 and tw < 2 * overlap:
                break
            if th * tw > max_pixels:
                continue
            # cost: pixels processed + a fixed cost per pass (set_tensor, invoke, blur)
            cost = ny * nx * (th * tw + 20_000)
            if best is None or cost < best[0]:
                best = (cost, Grid(th, tw, tuple(ys), tuple(xs), margin))
            break  # more columns only cost more
    return None if best is None else best[1]


def _ramp(n: int) -> np.ndarray:
    """Raised cosine from ~0 to ~1 over n samples (symmetric: r + r[::-1] == 1)."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return 0.5 - 0.5 * np.cos(np.pi * t)


def axis_weights(length: int, starts: tuple[int, ...], size: int, margin: int) -> list[np.ndarray]:
    """1-D weights of each tile over its own span; they sum to 1 at every position."""
    n = len(starts)
    raw = []
    for i, s in enumerate(starts):
        wgt = np.ones(size, dtype=np.float64)
        if i > 0:  # fade in over the overlap with the previous tile
            lo = starts[i] + margin
            hi = starts[i - 1] + size - margin
            if hi > lo:
                wgt[: lo - s] = 0.0
                wgt[lo - s: hi - s] = _ramp(hi - lo)
            else:
                wgt[: (starts[i] + starts[i - 1] + size) // 2 - s] = 0.0
        if i < n - 1:  # fade out over the overlap with the next tile
            lo = starts[i + 1] + margin
            hi = s + size - margin
            if hi > lo:
                wgt[lo - s: hi - s] *= 1.0 - _ramp(hi - lo)
                wgt[hi - s:] = 0.0
            else:
                wgt[(starts[i + 1] + s + size) // 2 - s:] = 0.0
        raw.append(wgt)
    total = np.zeros(length, dtype=np.float64)
    for s, wgt in zip(starts, raw):
        total[s: s + size] += wgt
    if np.any(total <= 0):  # pragma: no cover - plan_grid guarantees coverage
        raise AssertionError("tile weights do not cover the image")
    return [(wgt / total[s: s + size]).astype(np.float32) for s, wgt in zip(starts, raw)]


def _blur(arr_u8: np.ndarray, sigma: float) -> np.ndarray:
    img = Image.fromarray(arr_u8, "RGB").filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(img, dtype=np.float32)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def paste_rows(out: Image.Image, rows: np.ndarray, y0: int,
               post: Callable[[np.ndarray, int], None] | None) -> None:
    """Round the float 0..255 ``rows`` (in place) to uint8, let ``post`` edit them, and
    paste them into ``out`` at row y0."""
    rows += 0.5
    np.clip(rows, 0, 255, out=rows)
    final = rows.astype(np.uint8)
    if post is not None:
        post(final, y0)
    out.paste(Image.fromarray(final, "RGB"), (0, y0))


@dataclass(frozen=True)
class Layout:
    """How an h×w output is processed: global pass size, blur σ, tile grid."""

    global_h: int
    global_w: int
    sigma: float
    grid: Grid


def layout(h: int, w: int, max_pixels: int) -> Layout:
    gh, gw = fit_pixels(h, w, max_pixels)
    sigma = max(MIN_SIGMA, SIGMA_GLOBAL_PX * max(h / gh, w / gw))
    grid = plan_grid(h, w, max_pixels, int(math.ceil(MARGIN_SIGMAS * sigma)))
    return Layout(gh, gw, sigma, grid)


def stylize_tiled(
    content: Image.Image,
    transfer: Transfer,
    max_pixels: int,
    progress: Callable[[float], None] | None = None,
    post: Callable[[np.ndarray, int], None] | None = None,
) -> Image.Image:
    """Stylize an RGB image larger than one pass; returns a new RGB image.

    ``post(band, y0)`` may edit each finished uint8 band (rows y0…) in place
    before it is pasted (the Engine's keep-colours step).  No full-size numpy
    copy of the input or the output is made.
    """
    w, h = content.size
    lay = layout(h, w, max_pixels)
    gh, gw, sigma, grid = lay.global_h, lay.global_w, lay.sigma, lay.grid
    margin = grid.margin
    small = np.asarray(content.resize((gw, gh), Image.Resampling.LANCZOS, reducing_gap=3.0),
                       dtype=np.float32) / np.float32(255.0)
    global_img = Image.fromarray(_to_u8(transfer(small)), "RGB")
    del small
    fy, fx = h / gh, w / gw
    total_steps = 1 + grid.count
    if progress:
        progress(1 / total_steps)

    wy = axis_weights(h, grid.ys, grid.tile_h, margin)
    wx = axis_weights(w, grid.xs, grid.tile_w, margin)
    pad = int(math.ceil(3 * sigma))
    out = Image.new("RGB", (w, h))
    th, tw = grid.tile_h, grid.tile_w
    band = np.zeros((th, w, 3), dtype=np.float32)
    done = 1
    for r, y0 in enumerate(grid.ys):
        for c, x0 in enumerate(grid.xs):
            tile = np.asarray(content.crop((x0, y0, x0 + tw, y0 + th)), dtype=np.float32)
            tile = _to_u8(transfer(tile / np.float32(255.0)))
            high = tile.astype(np.float32) - _blur(tile, sigma)
            del tile
            # low frequencies of the global pass over this tile (with context for the blur)
            ex0, ey0 = max(0, x0 - pad), max(0, y0 - pad)
            ex1, ey1 = min(w, x0 + tw + pad), min(h, y0 + th + pad)
            up = global_img.resize((ex1 - ex0, ey1 - ey0), Image.Resampling.BICUBIC,
                                   box=(ex0 / fx, ey0 / fy, ex1 / fx, ey1 / fy))
            high += _blur(np.asarray(up), sigma)[y0 - ey0:y0 - ey0 + th, x0 - ex0:x0 - ex0 + tw]
            high *= wy[r][:, None, None]
            high *= wx[c][None, :, None]
            band[:, x0:x0 + tw] += high
            del high, up
            done += 1
            if progress:
                progress(done / total_steps)
        # rows above the next tile row are final
        y_next = grid.ys[r + 1] if r + 1 < len(grid.ys) else h
        n_final = y_next - y0
        paste_rows(out, band[:n_final], y0, post)
        if r + 1 < len(grid.ys):
            keep = th - n_final
            band[:keep] = band[n_final:n_final + keep]
            band[keep:] = 0.0
    return out


__all__ = ["Grid", "Layout", "layout", "plan_grid", "axis_weights", "fit_pixels", "stylize_tiled", "RAMP"]
