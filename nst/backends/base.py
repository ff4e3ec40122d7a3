"""The Backend interface: what the Engine needs from an inference runtime.

A backend turns a 256×256 style image into a *style code* and applies a code to
a content image.  For ``openvino`` (default) and ``lite`` the code is Magenta's
100-number style bottleneck, and codes may be mixed linearly (that is how
strength and two-style mixes work).  A backend whose codes cannot be mixed
(``hub``: the TF-Hub model takes the style *image* and keeps its bottleneck
inside) sets ``linear_codes = False``; the Engine then blends rendered outputs
instead (see ``nst.engine``), so callers never have to care which one runs.

Arrays: float32, values 0..1, channels last (H, W, 3).  ``transfer`` accepts any
size ≥ 1×1 and returns the same H×W (backends pad internally as they need).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

STYLE_SIDE = 256  # the predictor's input side
# The smallest side the networks take (their mirror pads need some room): smaller
# pictures are refused on intake (nst.images), and max_side may not go below it.
MIN_SIDE = 32


class Backend(ABC):
    """Inference runtime. Implementations must be thread-safe."""

    name: str = "?"
    #: True: style codes are vectors that may be averaged (v = Σ wᵢ·vᵢ) before
    #: one transfer.  False: the Engine renders each code and blends outputs.
    linear_codes: bool = True
    #: False: codes are cheap to recompute or bulky, so catalogs keep them in
    #: memory only instead of writing them to vectors.npz.
    persist_codes: bool = True
    #: Largest output stylized in one pass, and the pass size when bigger outputs
    #: are tiled: the runtime's memory grows with the pixels of one pass, so each
    #: backend sets what fits its own memory per pixel (NST_PASS_PIXELS /
    #: NST_TILE_PIXELS override them; bench/ measures them).
    pass_pixels: int = 1_300_000
    tile_pixels: int = 250_000

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Identifies the weights that produce style codes (cache key part)."""

    @abstractmethod
    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """Style code of a float32 [256, 256, 3] image in 0..1 (lite: shape (100,))."""

    @abstractmethod
    def transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Stylize float32 [H, W, 3] 0..1 content with a style code → float32 [H, W, 3] 0..1."""

    def warmup(self) -> None:
        """Load models now instead of at the first request (idempotent)."""

    def health(self) -> tuple[bool, str]:
        """(ok, message) without raising: are the model files there and intact?"""
        return True, f"{self.name} backend"


def check_style_array(style: np.ndarray) -> np.ndarray:
    style = np.asarray(style, dtype=np.float32)
    if style.shape != (STYLE_SIDE, STYLE_SIDE, 3):
        raise ValueError(f"style image must be [{STYLE_SIDE}, {STYLE_SIDE}, 3], not {list(style.shape)}")
    return style


def check_content_array(content: np.ndarray) -> np.ndarray:
    content = np.asarray(content, dtype=np.float32)
    if content.ndim != 3 or content.shape[2] != 3 or content.shape[0] < 1 or content.shape[1] < 1:
        raise ValueError(f"content must be [H, W, 3], not {list(content.shape)}")
    return content


def pad_to(content: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mirror-pad (bottom/right) an [H, W, 3] array to at least height × width."""
    h, w = content.shape[:2]
    ph, pw = max(0, height - h), max(0, width - w)
    if not ph and not pw:
        return content
    while ph or pw:  # 'symmetric' needs pad ≤ size; repeat for tiny inputs
        sh, sw = min(ph, content.shape[0]), min(pw, content.shape[1])
        content = np.pad(content, ((0, sh), (0, sw), (0, 0)), mode="symmetric")
        ph, pw = ph - sh, pw - sw
    return content


def prepare_style(image: Image.Image) -> np.ndarray:
    """A PIL image → the predictor's input: float32 [256, 256, 3] in 0..1.

    The short side is scaled to 256 and the centre cropped (as in the TF Lite
    style-transfer example), so brush strokes keep their shape.
    """
    from PIL import Image

    img = image if image.mode == "RGB" else image.convert("RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.resize((STYLE_SIDE, STYLE_SIDE), Image.Resampling.BICUBIC,
                     box=(left, top, left + side, top + side),
                     reducing_gap=None if side <= 2 * STYLE_SIDE else 2.0)
    return np.asarray(img, dtype=np.float32) / np.float32(255.0)
