"""Optional backend: the full Magenta model from TensorFlow Hub.

``NST_BACKEND=hub`` with ``NST_HUB_HANDLE`` = a tfhub.dev-style URL (downloaded
as ``?tf-hub-format=compressed`` into ``TFHUB_CACHE_DIR``) or a local SavedModel
folder.  TensorFlow and tensorflow_hub are imported only when this backend is
first used (``pip install -r requirements-hub.txt``): importing TensorFlow costs
seconds and hundreds of MB (bench/ ``runtime_load`` and ``hub_vs_lite`` rows), which
is why it is not the default.

The model is called as ``model(content[None], style256[None])`` and keeps its
style bottleneck inside, so this backend's *style code* is the prepared
256×256 style image itself and ``linear_codes`` is False: the Engine realises
strength and mixes by blending rendered outputs (see ``nst.engine``).
"""
from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nst.backends.base import (MIN_SIDE, Backend, check_content_array, check_style_array,
                               pad_to)
from nst.config import EngineConfig
from nst.errors import ModelError

MULTIPLE = 4


def _is_url(handle: str) -> bool:
    return handle.startswith(("http://", "https://", "gs://"))


class HubBackend(Backend):
    name = "hub"
    linear_codes = False
    persist_codes = False   # a code is a 256×256 image (768 KB): recomputed, not stored

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig(backend="hub")
        self.handle = str(self.config.hub_handle)
        self._lock = threading.Lock()
        self._model: Any = None     # the TF-Hub module and tensorflow (no stubs: Any)
        self._tf: Any = None
        self._fingerprint: str | None = None

    # --- loading -------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            h = hashlib.sha256()
            folder = Path(self.handle).expanduser()
            if not _is_url(self.handle) and folder.is_dir():
                # saved_model.pb + the variables index (which holds a checksum of every tensor)
                for name in ("saved_model.pb", "variables/variables.index"):
                    p = folder / name
                    if p.is_file():
                        h.update(name.encode() + b"\0" + p.read_bytes())
            else:
                h.update(self.handle.encode())
            self._fingerprint = "hub" + h.hexdigest()[:13]
        return self._fingerprint

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is not None:
                return self._model
            try:
                import tensorflow as tf
                import tensorflow_hub as hub
            except ImportError as e:
                raise ModelError(code="runtime_missing",
                                 detail=f"the hub backend needs tensorflow and tensorflow-hub "
                                        f"(pip install -r requirements-hub.txt): {e}") from e
            if not _is_url(self.handle) and not Path(self.handle).expanduser().is_dir():
                raise ModelError(code="model_missing",
                                 detail=f"TF-Hub model folder {self.handle} not found")
            handle = self.handle if _is_url(self.handle) else str(Path(self.handle).expanduser())
            try:
                model = hub.load(handle)
            except Exception as e:
                raise ModelError(code="model_load",
                                 detail=f"cannot load TF-Hub model {self.handle}: {e}") from e
            self._tf = tf
            self._model = model
            return model

    def warmup(self) -> None:
        self._load()

    def health(self) -> tuple[bool, str]:
        for module in ("tensorflow", "tensorflow_hub"):
            if importlib.util.find_spec(module) is None:
                return False, f"hub backend: {module} is not installed"
        if not _is_url(self.handle) and not Path(self.handle).expanduser().is_dir():
            return False, f"TF-Hub model folder {self.handle} not found"
        return True, f"hub backend ({self.handle})"

    # --- inference -----------------------------------------------------------------
    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """The code is the prepared style image itself (the model takes images)."""
        return check_style_array(style).copy()

    def transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        content = check_content_array(content)
        style = check_style_array(vector)
        model = self._load()
        tf = self._tf
        h, w = content.shape[:2]
        ph = max(MIN_SIDE, -(-h // MULTIPLE) * MULTIPLE)
        pw = max(MIN_SIDE, -(-w // MULTIPLE) * MULTIPLE)
        x = pad_to(content, ph, pw)
        try:
            result = model(tf.constant(x[None]), tf.constant(style[None]))
        except Exception as e:
            raise ModelError(code="model_run", detail=f"TF-Hub model failed: {e}") from e
        if isinstance(result, dict):
            result = next(iter(result.values()))
        if isinstance(result, (list, tuple)):
            result = result[0]
        out = np.asarray(result.numpy() if hasattr(result, "numpy") else result, dtype=np.float32)
        if out.ndim == 4:
            out = out[0]
        if out.shape[:2] != (ph, pw):  # the model may round sizes: resample back
            from PIL import Image

            img = Image.fromarray(np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
            out = np.asarray(img.resize((pw, ph), Image.Resampling.BICUBIC), np.float32) / 255.0
        out = np.ascontiguousarray(out[:h, :w, :3], dtype=np.float32)
        return np.clip(out, 0.0, 1.0, out=out)


__all__ = ["HubBackend"]
