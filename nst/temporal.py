"""Temporal stability for clips: optical flow on the input frames, no flicker in the output.

Per-frame stylization repaints every frame from scratch, so brush strokes jump.
``Stabilizer`` follows Ruder et al. (2016) without the optimisation loop:

1. dense flow between consecutive *input* frames (OpenCV DIS, both directions);
2. the previous *output* frame is warped to the current frame along that flow;
3. forward–backward check: where following the flow back and forth does not
   return (close) to the start, the pixel was occluded or the flow is wrong;
4. where the flow is reliable, the warped previous output is blended in with
   ``weight``; elsewhere (occlusions, new content at the borders) the fresh frame
   is used as it is.

Because the blended output is what gets warped next, strokes are carried along
with the motion.  ``temporal_error`` is the measure the tests and bench use:
mean |Oₜ − warp(Oₜ₋₁)| over the reliable pixels, in 0..255 units.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

#: Share of the warped previous output where the flow is reliable.
DEFAULT_WEIGHT = 0.7
#: The stabilizer's flow is found at half the frame's size: strokes move smoothly and the
#: flow costs a quarter (bench/ clips_flow has both side by side).
FLOW_SCALE = 0.5


class FlowWarp:
    """Backward warp between two consecutive input frames, with a reliability mask."""

    def __init__(self, preset: str = "fast", scale: float = 1.0) -> None:
        import cv2

        presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                   "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                   "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
        self._cv2 = cv2
        # not thread-safe: one per clip (OpenCV's stubs lack it, hence the ignore)
        self._dis = cv2.DISOpticalFlow_create(presets[preset])  # type: ignore[attr-defined]
        #: the flow is found on frames shrunk by this much and scaled back up
        self.scale = scale
        self._grids: dict[tuple[int, int], np.ndarray] = {}

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        return self._cv2.cvtColor(frame, self._cv2.COLOR_RGB2GRAY)

    def between(self, prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(map [H, W, 2] float32 for cv2.remap, reliable [H, W] bool) taking frame
        ``prev``'s pixels to where they are in ``cur``."""
        cv2 = self._cv2
        g0, g1 = self._gray(prev), self._gray(cur)
        h, w = g1.shape
        small = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
        if small != (w, h):
            g0 = cv2.resize(g0, small, interpolation=cv2.INTER_AREA)
            g1 = cv2.resize(g1, small, interpolation=cv2.INTER_AREA)
        back = self._dis.calc(g1, g0, None)   # cur(x) ≈ prev(x + back(x))
        fwd = self._dis.calc(g0, g1, None)
        mapping = cv2.add(self._grid(g1.shape), back)
        fwd_there = cv2.remap(fwd, mapping, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        # forward–backward consistency (Sundaram et al.): a round trip ends near the start;
        # cv2 ops, not numpy: this runs once per frame and numpy was half of its time
        pair = np.array([[1.0, 1.0]], np.float32)
        loop = cv2.add(back, fwd_there)
        err = cv2.transform(cv2.multiply(loop, loop), pair)
        size = cv2.transform(cv2.add(cv2.multiply(back, back), cv2.multiply(fwd_there, fwd_there)),
                             pair)
        inside = cv2.remap(np.ones(g1.shape, np.uint8), mapping, None, cv2.INTER_NEAREST,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        reliable = (err <= 0.01 * size + 0.5) & (inside > 0)
        if small == (w, h):
            return mapping, reliable
        # Back to the frame's size: the flow scaled with it, the mask as it is.
        back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
        back *= np.array([w / small[0], h / small[1]], np.float32)
        reliable = cv2.resize(reliable.view(np.uint8), (w, h),
                              interpolation=cv2.INTER_NEAREST).view(bool)
        return cv2.add(self._grid((h, w)), back), reliable

    def _grid(self, shape: tuple[int, ...]) -> np.ndarray:
        """Each pixel's own (x, y), the identity map, per frame size."""
        h, w = shape[:2]
        grid = self._grids.get((h, w))
        if grid is None:
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            grid = self._grids[(h, w)] = np.dstack([xs, ys])
        return grid

    def warp(self, image: np.ndarray, mapping: np.ndarray) -> np.ndarray:
        cv2 = self._cv2
        return cv2.remap(image, mapping, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


class Stabilizer:
    """Feed (input frame, stylized frame) pairs in order; get stabilized frames back."""

    def __init__(self, weight: float = DEFAULT_WEIGHT, preset: str = "fast",
                 flow_scale: float = FLOW_SCALE) -> None:
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"weight must be in [0, 1), not {weight}")
        self.weight = weight
        self._flow = FlowWarp(preset, flow_scale)
        self._prev_in: np.ndarray | None = None
        self._prev_out: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        out = stylized
        if (self._prev_in is not None and self._prev_out is not None
                and self._prev_in.shape == frame.shape and self.weight > 0):
            mapping, reliable = self._flow.between(self._prev_in, frame)
            warped = self._flow.warp(self._prev_out, mapping)
            # soften the mask's edges so occlusion borders do not show as seams
            mask = self._flow._cv2.blur(reliable.astype(np.float32), (3, 3)) * self.weight
            mix = stylized.astype(np.float32)
            mix += mask[..., None] * (warped.astype(np.float32) - mix)
            out = np.clip(mix + 0.5, 0, 255).astype(np.uint8)
        self._prev_in, self._prev_out = frame, out
        return out


def temporal_error(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray],
                   preset: str = "medium") -> float:
    """Mean over t of mean |Oₜ − warp(Oₜ₋₁)| on reliable pixels (0..255 units).

    The flow comes from the input frames (``inputs``); pass the inputs as the
    outputs too to get the clip's own error (its baseline).  The default preset
    is finer than the stabilizer's, so the measure does not just echo its flow.
    """
    flow = FlowWarp(preset)
    total, count, prev_in, prev_out = 0.0, 0, None, None
    for frame, out in zip(inputs, outputs, strict=True):
        if prev_in is not None and prev_out is not None:
            mapping, reliable = flow.between(prev_in, frame)
            if reliable.any():
                diff = np.abs(out.astype(np.float32) - flow.warp(prev_out, mapping))
                total += float(diff[reliable].mean())
                count += 1
        prev_in, prev_out = frame, out
    return total / count if count else 0.0


def content_distance(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray]) -> float:
    """Mean |Oₜ − Iₜ| (0..255): how far the frames are painted away from the content."""
    values = [float(np.abs(o.astype(np.float32) - i.astype(np.float32)).mean())
              for i, o in zip(inputs, outputs, strict=True)]
    return sum(values) / len(values) if values else 0.0


__all__ = ["FlowWarp", "Stabilizer", "temporal_error", "content_distance", "DEFAULT_WEIGHT"]
