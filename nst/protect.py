"""Keep faces (or the whole person) recognizable in a painting.

``StyleOptions.protect``:

* ``none``   — the painting as it is;
* ``faces``  — each detected face is painted lightly: the photo shows through
  with ``FACE_KEEP`` of its weight, the rest of the picture is painted as usual;
* ``person`` — the whole person (the selfie segmenter's silhouette, only the parts
  that hold a detected face) keeps ``PERSON_KEEP`` of the photo, the background is
  painted.

**The mask.**  A face is an ellipse grown from the detector's box (forehead and chin
included) with a soft rim, cut by the person silhouette so it never spills onto the
background beside the head.  The coarse mask (segmenter resolution) is brought to the
output size by a guided filter with the photo's luma as the guide (He et al., as
``nst.brush`` brings the painting up): where the photo has an edge, the mask's edge
snaps to it, so no halo of unpainted background rims the hair; where it has none,
the mask stays feathered, so no seam shows on the skin.

**Clips.**  ``MaskTracker`` carries the previous frame's coarse mask along the
optical flow and blends it with the new one (``temporal.FlowWarp``), so the
protected area does not flicker from frame to frame.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from nst.subjects import SEG_INPUT, Face, Subjects

PROTECT_MODES = ("none", "faces", "person")
#: Chosen on the contact sheet (docs/protect-sheet.jpg, README "Faces").
DEFAULT_PROTECT = "faces"
#: Share of the photo kept inside a face / the person (1 − how much it is painted).
FACE_KEEP = 0.75
PERSON_KEEP = 0.85
#: Face ellipse: half-axes as multiples of the box's width / height, centre moved up
#: (share of the height) to take in the forehead; the rim fades over this share.
FACE_RX, FACE_RY, FACE_LIFT, FACE_RIM = 0.72, 0.95, 0.12, 0.35
#: Guided filter on the output: radius as a share of the long side, ε on 0..1 luma.
GUIDE_RADIUS = 1 / 160
GUIDE_EPS = 1e-3
#: Clips: weight of the flow-warped previous mask where the flow is reliable, and how
#: often faces are looked for (in between, the mask moves along the flow).
TRACK_WEIGHT = 0.7
FACE_EVERY = 3


def check_protect(mode: object) -> str:
    """The mode, or ValueError naming the allowed values."""
    if not isinstance(mode, str) or mode not in PROTECT_MODES:
        raise ValueError(f"protect must be one of {', '.join(PROTECT_MODES)}, not {mode!r}")
    return mode


def _face_ellipses(faces: Sequence[Face], size: tuple[int, int], grid: tuple[int, int]) -> np.ndarray:
    """max over faces of a soft ellipse (1 inside, 0 outside), on a ``grid`` (w, h) raster
    of a photo of ``size``."""
    gw, gh = grid
    sx, sy = gw / size[0], gh / size[1]
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32) + np.float32(0.5)
    out = np.zeros((gh, gw), np.float32)
    for f in faces:
        cx = (f.x0 + f.x1) / 2 * sx
        cy = ((f.y0 + f.y1) / 2 - FACE_LIFT * f.height) * sy
        rx, ry = FACE_RX * f.width * sx, FACE_RY * f.height * sy
        d = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2)
        np.maximum(out, np.clip((1.0 - d) / FACE_RIM + 0.5, 0.0, 1.0), out=out)
    return out


def _people(subjects: Subjects) -> np.ndarray:
    """The segmenter's silhouette, kept only where it is connected to a detected face
    (the segmenter also lights up on cats and furniture)."""
    import cv2

    seg = subjects.person
    n, labels = cv2.connectedComponents((seg > 0.5).astype(np.uint8))
    if n <= 1 or not subjects.faces:
        return np.zeros_like(seg)
    boxes = _face_ellipses(subjects.faces, subjects.size, (SEG_INPUT, SEG_INPUT)) > 0.5
    keep = np.unique(labels[boxes & (labels > 0)])
    kept = np.isin(labels, keep).astype(np.float32)
    # the soft rim of the probability map around kept components, not a hard cut
    near = np.asarray(cv2.dilate(kept, np.ones((5, 5), np.uint8)), np.float32)
    # the segmenter's rim is soft and wide: sharpened, the photo's edges (refine) place it
    return np.clip((seg - 0.35) / 0.4, 0.0, 1.0) * near


def _faces_cut(subjects: Subjects, people: np.ndarray) -> np.ndarray:
    """Each face's ellipse cut by the silhouette, so it never spills onto the background
    beside the head; a face the segmenter missed (a painting, a mask) keeps its ellipse."""
    grid = (SEG_INPUT, SEG_INPUT)
    inside = np.clip(1.5 * people, 0.0, 1.0)
    cut = np.zeros(people.shape, np.float32)
    for face in subjects.faces:
        one = _face_ellipses([face], subjects.size, grid)
        core = one > 0.5
        seen = bool(core.any()) and float(inside[core].mean()) >= 0.5
        np.maximum(cut, np.minimum(one, inside) if seen else one, out=cut)
    return cut


def coarse_mask(subjects: Subjects, mode: str) -> np.ndarray | None:
    """How much of the photo to keep, float32 0..1 on the segmenter's SEG_INPUT² grid
    (stretched over the photo); None when nothing is to be protected."""
    check_protect(mode)
    if mode == "none" or not subjects.faces:
        return None
    people = _people(subjects)
    faces = _faces_cut(subjects, people)
    if mode == "faces":
        return (FACE_KEEP * faces).astype(np.float32)
    return np.maximum(PERSON_KEEP * people, FACE_KEEP * faces).astype(np.float32)


def _box(x: np.ndarray, r: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(x, cv2.CV_32F, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def refine(mask: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The coarse ``mask`` at ``photo``'s size (uint8 H×W×3), its edges guided by the
    photo's luma (guided filter), float32 0..1."""
    import cv2

    h, w = photo.shape[:2]
    p = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    return _guided(p, photo, max(2, round(max(w, h) * GUIDE_RADIUS)))


def _guided(p: np.ndarray, photo: np.ndarray, r: int) -> np.ndarray:
    """Guided filter of ``p`` (float32 H×W) by ``photo``'s luma, radius ``r``, clipped 0..1."""
    import cv2

    guide = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.float32) / np.float32(255.0)
    mean_i, mean_p = _box(guide, r), _box(p, r)
    cov = _box(guide * p, r) - mean_i * mean_p
    var = _box(guide * guide, r) - mean_i * mean_i
    a = cov / (np.maximum(var, 0.0) + np.float32(GUIDE_EPS))
    b = mean_p - a * mean_i
    q = _box(a, r) * guide + _box(b, r)
    return np.clip(q, 0.0, 1.0, out=q)


def blend(photo: np.ndarray, painting: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """uint8 painting with ``keep`` (H×W, 0..1) of the photo mixed back in."""
    out = painting.astype(np.float32)
    out += keep[..., None] * (photo.astype(np.float32) - out)
    out += np.float32(0.5)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def _support(coarse: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of ``size`` (w, h) outside which the refined mask is exactly 0:
    the coarse mask's non-zero cells (one cell of bilinear spread) grown by two guided
    filter radii (the filter's output reaches 2r beyond its input) and a safety pixel."""
    w, h = size
    ys, xs = np.nonzero(coarse > 0)
    gh, gw = coarse.shape
    r = max(2, round(max(w, h) * GUIDE_RADIUS))
    pad = 2 * r + 2
    return (max(0, int((xs.min() - 1) * w / gw) - pad), max(0, int((ys.min() - 1) * h / gh) - pad),
            min(w, int((xs.max() + 2) * w / gw) + pad), min(h, int((ys.max() + 2) * h / gh) + pad))


def protect_image(photo: Image.Image, painting: Image.Image, subjects: Subjects,
                  mode: str) -> Image.Image:
    """``painting`` (of ``photo``, same size) with faces / the person kept per ``mode``.
    Only the part of the picture the mask can reach is filtered and blended (a face is a
    small share of most photos); elsewhere the painting is left as it is."""
    coarse = coarse_mask(subjects, mode)
    if coarse is None or not coarse.any():
        return painting
    x0, y0, x1, y1 = _support(coarse, photo.size)
    if (x1 - x0) * (y1 - y0) >= 0.8 * photo.width * photo.height:
        arr = np.asarray(photo.convert("RGB"))
        return Image.fromarray(blend(arr, np.asarray(painting), refine(coarse, arr)), "RGB")
    import cv2

    w, h = photo.size
    # the coarse mask at the part's pixels, exactly as resizing it to the whole photo would
    full = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]
    arr = np.asarray(photo.convert("RGB").crop((x0, y0, x1, y1)))
    keep = _guided(full, arr, max(2, round(max(w, h) * GUIDE_RADIUS)))
    out = np.array(painting)
    out[y0:y1, x0:x1] = blend(arr, out[y0:y1, x0:x1], keep)
    return Image.fromarray(out, "RGB")


class MaskTracker:
    """Clips: the coarse mask carried along the flow, so it does not flicker."""

    def __init__(self, weight: float = TRACK_WEIGHT) -> None:
        from nst.temporal import FlowWarp

        self.weight = weight
        self._flow = FlowWarp("ultrafast")
        self._prev_frame: np.ndarray | None = None
        self._prev_mask: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, coarse: np.ndarray | None) -> np.ndarray | None:
        """The stabilized coarse mask of ``frame`` (uint8 RGB) given this frame's own
        (``coarse``; None = not looked at this frame: the previous mask moved along)."""
        import cv2

        if not _some(self._prev_mask) and not _some(coarse):
            # Nobody to carry along (no face yet, or faded out): no flow to compute.
            self._prev_frame = self._prev_mask = None
            return None
        small = cv2.resize(frame, (SEG_INPUT, SEG_INPUT), interpolation=cv2.INTER_AREA)
        mask = coarse
        if self._prev_frame is not None and self._prev_mask is not None:
            mapping, reliable = self._flow.between(self._prev_frame, small)
            warped = self._flow.warp(self._prev_mask, mapping)
            if mask is None:
                mask = warped
            else:
                wgt = cv2.blur(reliable.astype(np.float32), (3, 3)) * np.float32(self.weight)
                mask = mask + wgt * (warped - mask)
        self._prev_frame, self._prev_mask = small, mask
        return mask if _some(mask) else None


def _some(mask: np.ndarray | None) -> bool:
    """Does the mask keep anything (above rounding noise)?"""
    return mask is not None and float(mask.max(initial=0.0)) > 1e-3


class FrameGuard:
    """Clips: faces looked for every ``every`` frames (the whole frame, no small-face
    search), the mask carried along the flow in between and blended into each frame."""

    def __init__(self, find: Callable[[Image.Image], Subjects], mode: str,
                 every: int = FACE_EVERY) -> None:
        self.find, self.mode, self.every = find, check_protect(mode), every
        self._tracker = MaskTracker()
        self._count = 0
        self.found = False   # a face in any frame looked at so far

    def __call__(self, frame: np.ndarray, painted: np.ndarray) -> np.ndarray:
        seen = None
        if self._count % self.every == 0:
            subjects = self.find(Image.fromarray(frame, "RGB"))
            self.found = self.found or subjects.found
            seen = coarse_mask(subjects, self.mode)
            if seen is None:   # looked and found nobody: the mask fades out along the flow
                seen = np.zeros((SEG_INPUT, SEG_INPUT), np.float32)
        self._count += 1
        coarse = self._tracker(frame, seen)
        return painted if coarse is None else blend(frame, painted, refine(coarse, frame))


__all__ = ["PROTECT_MODES", "DEFAULT_PROTECT", "FACE_KEEP", "PERSON_KEEP", "check_protect",
           "coarse_mask", "refine", "blend", "protect_image", "MaskTracker", "FrameGuard"]
