"""Fallback backend: Magenta's TFLite models on ai-edge-litert (``NST_BACKEND=lite``),
for platforms without OpenVINO wheels.

* Interpreters are created once per backend (lazily, or by ``warmup``) and
  reused; each has its own lock, so concurrent requests queue instead of
  racing (one invoke already uses ``threads`` cores).
* The transformer runs at the content's own aspect ratio: the input tensor is
  resized to the content, mirror-padded up to a multiple of ``BUCKET`` pixels
  (so nearby sizes share one tensor shape), and the output cropped back.  The
  last shape is remembered: the same shape again costs no ``allocate_tensors``.
  The interpreter's arena grows with the pixels of the shape and never shrinks;
  when a shape needs a bigger one the interpreter is rebuilt instead, so old and
  new arenas never coexist.
* XNNPACK is on by default (``NST_XNNPACK``): faster than the reference kernels
  for a bigger arena per pixel (bench/ ``settings`` rows have both).  The Engine
  bounds the pixels of any single pass (``pass_pixels`` / ``tile_pixels``),
  which bounds memory.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nst.backends.base import (MIN_SIDE, STYLE_SIDE, Backend, check_content_array,
                               check_style_array, pad_to)
from nst.config import EngineConfig
from nst.errors import ModelError
from nst.models import PREDICTOR, SPECS, TRANSFORMER, engine_files_problem, locate

BUCKET = 16      # tensor sides are rounded up to a multiple of this
CONTENT_INPUT = "content_image"


def _bucket(n: int) -> int:
    n = max(n, MIN_SIDE)
    return -(-n // BUCKET) * BUCKET


class LiteBackend(Backend):
    name = "lite"
    linear_codes = True

    def __init__(self, config: EngineConfig | None = None, *,
                 use_xnnpack: bool | None = None) -> None:
        self.config = config or EngineConfig()
        self.threads = max(1, int(self.config.threads or os.cpu_count() or 1))
        self.use_xnnpack = self.config.xnnpack if use_xnnpack is None else use_xnnpack
        self._init_lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self._transfer_lock = threading.Lock()
        self._loaded = False
        # LiteRT interpreters and their tensor details (untyped: the runtime has no stubs)
        self._predictor: Any = None
        self._transformer: Any = None
        self._p_in: Any = None
        self._p_out: Any = None
        self._t_content: Any = None
        self._t_style: Any = None
        self._t_out: Any = None
        self._shape: tuple[int, int] | None = None
        self._arena_pixels = 0      # largest content shape allocated so far
        self._transformer_path: Path | None = None
        self.allocations = 0   # how often allocate_tensors ran for the transformer (tests)

    # --- loading -----------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        # The predictor alone produces style vectors; once it is verified its
        # hash is the recorded one, so no hashing is needed here.
        locate(PREDICTOR, self.config)
        return SPECS[PREDICTOR].sha256[:16]

    def _interpreter(self, path: Path) -> Any:
        try:
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as e:  # pragma: no cover - dependency missing
            raise ModelError(code="runtime_missing",
                             detail=f"ai-edge-litert is not installed: {e}") from e
        kwargs = {}
        if not self.use_xnnpack:
            kwargs["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            return Interpreter(model_path=str(path), num_threads=self.threads, **kwargs)
        except (ValueError, RuntimeError) as e:
            raise ModelError(code="model_load", detail=f"cannot load {path}: {e}") from e

    def _load(self) -> None:
        if self._loaded:
            return
        with self._init_lock:
            if self._loaded:
                return
            pred = self._interpreter(locate(PREDICTOR, self.config))
            pred.allocate_tensors()
            p_in = pred.get_input_details()[0]
            p_out = pred.get_output_details()[0]
            self._transformer_path = locate(TRANSFORMER, self.config)
            trans = self._interpreter(self._transformer_path)
            inputs = trans.get_input_details()
            content = [d for d in inputs if d["name"] == CONTENT_INPUT]
            style = [d for d in inputs if d["name"] != CONTENT_INPUT]
            if len(content) != 1 or len(style) != 1:
                raise ModelError(code="model_load",
                                 detail=f"{TRANSFORMER}: unexpected inputs {[d['name'] for d in inputs]}")
            self._predictor, self._p_in, self._p_out = pred, p_in["index"], p_out["index"]
            self._t_content, self._t_style = content[0]["index"], style[0]["index"]
            self._t_out = trans.get_output_details()[0]["index"]
            self._transformer = trans
            self._loaded = True

    def warmup(self) -> None:
        self._load()

    def health(self) -> tuple[bool, str]:
        problem = engine_files_problem(self.config)
        if problem:
            return False, problem
        return True, f"lite backend ({self.threads} threads)"

    # --- inference -----------------------------------------------------------------
    def style_vector(self, style: np.ndarray) -> np.ndarray:
        style = check_style_array(style)
        self._load()
        with self._predict_lock:
            self._predictor.set_tensor(self._p_in, style[None])
            self._predictor.invoke()
            out = self._predictor.get_tensor(self._p_out)
        return np.asarray(out, dtype=np.float32).reshape(-1).copy()

    def transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        content = check_content_array(content)
        vector = np.asarray(vector, dtype=np.float32).reshape(1, 1, 1, -1)
        if vector.shape[-1] != 100:
            raise ValueError(f"lite style vectors have 100 values, not {vector.shape[-1]}")
        self._load()
        h, w = content.shape[:2]
        shape = (_bucket(h), _bucket(w))
        x = pad_to(content, *shape)[None]
        with self._transfer_lock:
            if shape != self._shape:
                if shape[0] * shape[1] > self._arena_pixels:
                    # The arena only grows, and growing it holds the old and the new
                    # buffer at once.  A fresh interpreter (cheap to create) frees the
                    # old one first.
                    self._transformer, self._shape = None, None
                    assert self._transformer_path is not None, "set by _load"
                    self._transformer = self._interpreter(self._transformer_path)
                    self._arena_pixels = shape[0] * shape[1]
                self._transformer.resize_tensor_input(self._t_content, [1, shape[0], shape[1], 3])
                self._transformer.allocate_tensors()
                self._shape = shape
                self.allocations += 1
            trans = self._transformer
            trans.set_tensor(self._t_content, x)
            trans.set_tensor(self._t_style, vector)
            trans.invoke()
            out = trans.get_tensor(self._t_out)
        out = out[0, :h, :w, :]
        return np.clip(out, 0.0, 1.0, out=np.ascontiguousarray(out, dtype=np.float32))


__all__ = ["LiteBackend", "BUCKET", "STYLE_SIDE"]
