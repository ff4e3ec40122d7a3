"""Who is in the photo: faces (BlazeFace) and the person's silhouette (selfie segmenter).

Two small Apache-2.0 models from the ``mediapipe==0.10.14`` wheel, vendored in
``nst/data/models`` (sizes and sha256 in ``nst.models``; mediapipe itself is not a
dependency).  Both run on ai-edge-litert: OpenVINO's TFLite reader rejects the
segmenter's ``Convolution2DTransposeBias`` custom op, and one runtime for both keeps
this module small.

* **Faces** — ``face_detection_short_range.tflite``: a 128² input in −1..1 and, for
  each of 896 SSD anchors, 16 regressors (box centre offset, size, 6 key points, in
  input pixels) and one logit.  Decoding follows mediapipe's graph: anchors of
  strides 8 (2 per cell) and 16 (6 per cell), fixed size, sigmoid scores, and
  weighted non-maximum suppression.  The short-range model sees faces of roughly
  ≥ 1/10 of its input, so besides the whole photo (letterboxed) it also looks at
  overlapping square crops: small faces in a group photo are found too.
* **Person** — ``selfie_segmentation.tflite``: 256² input in 0..1 → a 256² person
  probability, stretched back to the photo's aspect.
"""
from __future__ import annotations

import hashlib
import math
import struct
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from nst.config import EngineConfig
from nst.errors import ModelError
from nst.models import FACE_DETECTOR, SEGMENTER, locate

FACE_INPUT = 128
SEG_INPUT = 256
#: Above mediapipe's own 0.5: a cat's eye and a spoon score 0.57–0.6 (tests/data/portraits).
MIN_SCORE = 0.75
#: Boxes overlapping more than this are one face.
NMS_IOU = 0.3
#: Photos whose findings are remembered: a user repaints the same photo in other styles.
REMEMBER = 16


def anchors() -> np.ndarray:
    """The 896 anchor centres (x, y) in 0..1, in the model's output order."""
    out: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        n = FACE_INPUT // stride
        for y in range(n):
            for x in range(n):
                out.extend([((x + 0.5) / n, (y + 0.5) / n)] * per_cell)
    return np.asarray(out, np.float32)


_ANCHORS = anchors()


@dataclass(frozen=True)
class Face:
    """A face box in the photo's pixels, with the detector's score."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Subjects:
    """What was found in one photo of ``size`` (w, h)."""

    size: tuple[int, int]
    faces: tuple[Face, ...]
    person: np.ndarray        # float32 probability, SEG_INPUT², stretched over the photo

    @property
    def person_area(self) -> float:
        return float((self.person > 0.5).mean())

    @property
    def found(self) -> bool:
        """Whether protection changes anything: a person counts through a detected face
        (the segmenter alone also lights up on cats and cups)."""
        return bool(self.faces)


def decode_faces(regressors: np.ndarray, logits: np.ndarray,
                 min_score: float = MIN_SCORE) -> list[tuple[float, float, float, float, float]]:
    """(x0, y0, x1, y1, score) in 0..1 of the model input, before NMS."""
    reg = regressors.reshape(-1, 16)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float32), -80.0, 80.0)))
    keep = np.nonzero(scores >= min_score)[0]
    boxes = []
    for i in keep:
        cx = reg[i, 0] / FACE_INPUT + _ANCHORS[i, 0]
        cy = reg[i, 1] / FACE_INPUT + _ANCHORS[i, 1]
        w, h = reg[i, 2] / FACE_INPUT, reg[i, 3] / FACE_INPUT
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, float(scores[i])))
    return boxes


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(boxes: list[tuple[float, float, float, float, float]],
                 iou: float = NMS_IOU) -> list[Face]:
    """mediapipe's weighted NMS: overlapping boxes are averaged by score."""
    rest = sorted(boxes, key=lambda b: -b[4])
    faces = []
    while rest:
        best = rest[0]
        group = [b for b in rest if _iou(best, b) > iou]
        rest = [b for b in rest if _iou(best, b) <= iou]
        wsum = sum(b[4] for b in group)
        avg = [sum(b[k] * b[4] for b in group) / wsum for k in range(4)]
        faces.append(Face(avg[0], avg[1], avg[2], avg[3], best[4]))
    return faces


def _squares(w: int, h: int, side: int) -> list[tuple[int, int, int]]:
    """Squares of ``side`` covering w×h, overlapping by a quarter."""
    step = max(1, round(0.75 * side))
    xs = sorted({*range(0, max(1, w - side), step), max(0, w - side)})
    ys = sorted({*range(0, max(1, h - side), step), max(0, h - side)})
    return [(x, y, side) for y in ys for x in xs]


def _crops(w: int, h: int, small_faces: bool) -> list[tuple[int, int, int]]:
    """Square windows (x, y, side) to look for faces in: the whole photo (letterboxed);
    for a wide or tall photo, squares of its short side; for small faces (a group photo),
    squares of half the short side too."""
    short, long = min(w, h), max(w, h)
    out = [((w - long) // 2, (h - long) // 2, long)]
    if long > 1.4 * short:
        out += _squares(w, h, short)
    if small_faces and short >= 2 * FACE_INPUT:
        out += _squares(w, h, short // 2)
    return out


class SubjectFinder:
    """Thread-safe, lazily loaded face detector + person segmenter."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._lock = threading.Lock()
        self._faces: Any = None
        self._seg: Any = None
        self._seen: OrderedDict[bytes, Subjects] = OrderedDict()
        self._beside: ThreadPoolExecutor | None = None

    def find_later(self, photo: Image.Image, small_faces: bool = True) -> Future[Subjects]:
        """``find`` on a thread of its own: the search overlaps the painting instead of
        coming before it."""
        with self._lock:
            if self._beside is None:
                self._beside = ThreadPoolExecutor(1, thread_name_prefix="subjects")
        return self._beside.submit(self.find, photo, small_faces)

    def _load(self) -> None:
        if self._seg is not None:
            return
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as e:  # pragma: no cover - dependency missing
            raise ModelError(code="runtime_missing",
                             detail=f"ai-edge-litert is not installed: {e}") from e
        nets = []
        for name in (FACE_DETECTOR, SEGMENTER):
            path = locate(name, self.config)
            try:
                net = Interpreter(model_path=str(path), num_threads=1)
                net.allocate_tensors()
            except (ValueError, RuntimeError) as e:
                raise ModelError(code="model_load", detail=f"cannot load {path}: {e}") from e
            nets.append(net)
        self._faces, self._seg = nets

    def warmup(self) -> None:
        with self._lock:
            self._load()

    def _run(self, net: Any, x: np.ndarray) -> list[np.ndarray]:
        net.set_tensor(net.get_input_details()[0]["index"], x[None])
        net.invoke()
        outs = sorted(net.get_output_details(), key=lambda d: d["name"])
        return [np.asarray(net.get_tensor(d["index"])) for d in outs]

    def _person(self, small: Image.Image) -> np.ndarray:
        """The silhouette on the SEG_INPUT² grid.  The segmenter was trained on selfies: a
        wide (or tall) picture squeezed into its square loses the people, so such a picture
        is segmented in overlapping squares and the results are joined (max)."""
        w, h = small.size
        side = min(w, h)
        scale = SEG_INPUT / side
        canvas = np.zeros((max(1, round(h * scale)), max(1, round(w * scale))), np.float32)
        count = 1 if max(w, h) <= 1.4 * side else math.ceil(1.5 * max(w, h) / side)
        for offset in np.linspace(0, max(w, h) - side, count).astype(int) if count > 1 else [0]:
            x, y = (int(offset), 0) if w >= h else (0, int(offset))
            box = (x, y, x + side, y + side) if count > 1 else (0, 0, w, h)
            arr = np.asarray(small.crop(box).resize((SEG_INPUT, SEG_INPUT), Image.Resampling.BILINEAR),
                             np.float32) / np.float32(255.0)
            out = self._run(self._seg, arr)[0].reshape(SEG_INPUT, SEG_INPUT)
            cx, cy = round(box[0] * scale), round(box[1] * scale)
            cw, ch = round((box[2] - box[0]) * scale), round((box[3] - box[1]) * scale)
            patch = np.asarray(Image.fromarray(out, "F").resize((cw, ch), Image.Resampling.BILINEAR))
            region = canvas[cy:cy + ch, cx:cx + cw]
            np.maximum(region, patch[:region.shape[0], :region.shape[1]], out=region)
        return np.asarray(Image.fromarray(canvas, "F").resize((SEG_INPUT, SEG_INPUT),
                                                              Image.Resampling.BILINEAR))

    def find(self, photo: Image.Image, small_faces: bool = True) -> Subjects:
        """Faces and the person in ``photo`` (any size; RGB).  ``small_faces=False`` looks
        only at the whole picture (and its squares when it is wide): a clip's frames."""
        photo = photo if photo.mode == "RGB" else photo.convert("RGB")
        w, h = photo.size
        # The windows are laid out on the photo fitted in 1024² (as they always were), but
        # cut from one copy only as large as the smallest window needs (its side → the
        # detector's 128 px, the segmenter's 256 px): one cheap downscale, no big resizes.
        fit = min(1.0, 1024 / max(w, h))
        tw, th = max(1, round(w * fit)), max(1, round(h * fit))
        crops = _crops(tw, th, small_faces)
        need = max(SEG_INPUT / min(tw, th), max(FACE_INPUT / side for _, _, side in crops))
        work = photo.resize((max(1, round(w * min(1.0, fit * need))),
                             max(1, round(h * min(1.0, fit * need)))), Image.Resampling.BILINEAR,
                            reducing_gap=None) if fit * need < 1.0 else photo
        # everything below reads only ``work`` and the sizes: they are the exact key
        key = hashlib.blake2b(work.tobytes(), digest_size=20,
                              person=struct.pack("<IIB", w, h, small_faces)).digest()
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return self._seen[key]
        found = self._find(work, crops, (w, h), (tw, th))
        with self._lock:
            self._seen[key] = found
            while len(self._seen) > REMEMBER:
                self._seen.popitem(last=False)
        return found

    def _find(self, work: Image.Image, crops: list[tuple[int, int, int]], size: tuple[int, int],
              fitted: tuple[int, int]) -> Subjects:  # fitted: (w, h) of the 1024² fit
        """Faces (windows ``crops`` on the ``fitted`` photo) and the person, from ``work``
        (the photo of ``size`` downscaled)."""
        w, h = size
        tw = fitted[0]
        c = work.width / tw   # thumbnail → work pixels
        k = w / tw            # thumbnail → photo pixels
        boxes = []
        with self._lock:
            self._load()
            for x, y, side in crops:
                region = (x * c, y * c, (x + side) * c, (y + side) * c)
                if region[0] >= 0 and region[1] >= 0 and region[2] <= work.width + 1e-6 \
                        and region[3] <= work.height + 1e-6:
                    crop = work.resize((FACE_INPUT, FACE_INPUT), Image.Resampling.BILINEAR,
                                       box=(region[0], region[1], min(region[2], work.width),
                                            min(region[3], work.height)))
                else:   # the letterboxed whole photo
                    crop = work.crop((round(region[0]), round(region[1]), round(region[2]),
                                      round(region[3]))).resize(
                        (FACE_INPUT, FACE_INPUT), Image.Resampling.BILINEAR)
                arr = np.asarray(crop, np.float32) / np.float32(127.5) - np.float32(1.0)
                logits, reg = self._run(self._faces, arr)   # sorted: classificators, regressors
                for b in decode_faces(reg, logits):
                    boxes.append((k * (x + b[0] * side), k * (y + b[1] * side),
                                  k * (x + b[2] * side), k * (y + b[3] * side), b[4]))
            faces = tuple(f for f in weighted_nms(boxes)
                          if f.width > 0 and f.height > 0 and f.x1 > 0 and f.y1 > 0
                          and f.x0 < w and f.y0 < h)
            # the silhouette only matters around a face (protect.coarse_mask): no face, no
            # segmenter run
            person = self._person(work) if faces else np.zeros((SEG_INPUT, SEG_INPUT), np.float32)
        person = np.clip(person.astype(np.float32), 0.0, 1.0)
        person.setflags(write=False)   # shared by the repaints of this photo
        return Subjects((w, h), faces, person)


__all__ = ["Face", "Subjects", "SubjectFinder", "anchors", "decode_faces", "weighted_nms"]
