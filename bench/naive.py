"""Baselines written the naive way, straight on ai_edge_litert (not the engine).

* Baseline A, "as the seed did": every request creates both interpreters (loads the
  models), computes the style vector, then stylizes the whole image.
* Baseline B, "naive": interpreters are created once and reused, but the style vector is
  recomputed per request, the interpreters keep their default settings
  (``Interpreter(model_path)``, no ``num_threads``), the whole image goes through the
  transformer in one piece and the input tensor is resized + re-allocated every call.

Both use the same pre/post-processing as Magenta's TFLite demo: style image centre-cropped and resized to
256², content cropped to multiples of 4, values in 0..1, strength as a linear blend of the
style's vector with the content image's own vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

PREDICT_MODEL = "style_predict_quantized_256.tflite"
TRANSFER_MODEL = "style_transfer_quantized_dynamic.tflite"


def interpreter(path: Path, num_threads: int | None = None):
    """``Interpreter(model_path)`` exactly as a first version would write it."""
    from ai_edge_litert.interpreter import Interpreter

    if num_threads is None:
        return Interpreter(model_path=str(path))
    return Interpreter(model_path=str(path), num_threads=num_threads)


def _to_batch(img: Image.Image) -> np.ndarray:
    """RGB PIL image -> float32 [1, H, W, 3] in 0..1."""
    return (np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0)[None, ...]


def _from_batch(arr: np.ndarray) -> Image.Image:
    """float32 [1, H, W, 3] in 0..1 -> RGB PIL image."""
    return Image.fromarray((np.clip(arr[0], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), "RGB")


@dataclass
class NaiveStylizer:
    """Baseline B: interpreters made once; everything else redone for every request."""

    model_dir: Path
    num_threads: int | None = None
    #: True: "naive warm" — skip resize + allocate_tensors when the shape is the last one
    #: (a naive server that happens to get the same size again).
    reuse_shape: bool = False

    def __post_init__(self) -> None:
        self.predictor = interpreter(self.model_dir / PREDICT_MODEL, self.num_threads)
        self.predictor.allocate_tensors()
        self.transformer = interpreter(self.model_dir / TRANSFER_MODEL, self.num_threads)
        self._shape: tuple[int, int] | None = None

    def style_vector(self, img: Image.Image) -> np.ndarray:
        """Predictor on the centre square of ``img`` resized to 256² -> vector [1, 1, 1, 100]."""
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        square = img.convert("RGB").crop((left, top, left + side, top + side))
        inp = self.predictor.get_input_details()[0]
        self.predictor.set_tensor(inp["index"], _to_batch(square.resize((256, 256), Image.BILINEAR)))
        self.predictor.invoke()
        return self.predictor.get_tensor(self.predictor.get_output_details()[0]["index"]).copy()

    def transfer(self, content: Image.Image, vector: np.ndarray) -> Image.Image:
        """Whole image through the dynamic transformer: resize input, allocate, invoke."""
        w, h = content.size
        w4, h4 = w - w % 4, h - h % 4
        if (w4, h4) != (w, h):
            content = content.crop((0, 0, w4, h4))
        details = self.transformer.get_input_details()
        content_in = next(d for d in details if "content" in d["name"])
        style_in = next(d for d in details if "content" not in d["name"])
        if not (self.reuse_shape and self._shape == (h4, w4)):
            self.transformer.resize_tensor_input(content_in["index"], [1, h4, w4, 3])
            self.transformer.allocate_tensors()
            self._shape = (h4, w4)
        self.transformer.set_tensor(content_in["index"], _to_batch(content))
        self.transformer.set_tensor(style_in["index"], vector.astype(np.float32))
        self.transformer.invoke()
        out = self.transformer.get_tensor(self.transformer.get_output_details()[0]["index"])
        return _from_batch(out)

    def stylize(self, content: Image.Image, style: Image.Image, strength: float = 1.0) -> Image.Image:
        """Style vector recomputed per request, blended with the content's own vector."""
        vector = self.style_vector(style)
        if strength < 1.0:
            vector = strength * vector + (1.0 - strength) * self.style_vector(content)
        return self.transfer(content, vector)


def stylize_as_seed(model_dir: Path, content: Image.Image, style: Image.Image,
                    strength: float = 1.0) -> Image.Image:
    """Baseline A: load the models (create interpreters) for this one request."""
    return NaiveStylizer(model_dir).stylize(content, style, strength)
