"""Default backend: Magenta's TFLite models compiled by OpenVINO for the CPU.

* OpenVINO reads the transformer from the IR made from its vendored ``.tflite``
  (``nst.backends.ov_ir``: quicker to read on a new instance; the ``.tflite`` when
  the IR is missing or stale), the predictor from its ``.tflite``.  Each model is
  compiled once per backend: the transformer by ``warmup``
  (or the first transfer), the predictor at the first style code it must compute.
* The transformer is compiled with dynamic spatial dims (``[1, -1, -1, 3]``), so
  every aspect ratio runs on the same compiled model: no recompile, no arena to
  re-plan per shape (``compiles`` counts compilations; tests check it stays 1).
* The network rounds odd sides up internally and then returns a bigger output,
  so content is mirror-padded to a multiple of ``MULTIPLE`` (and ≥ ``MIN_SIDE``:
  its own mirror pads need room) and the output cropped back.
* A lone photo runs on one infer request behind a lock with the latency setup:
  one stream on every thread (``NST_THREADS``).  Work that comes in numbers (clip
  frames: ``batch_transfer``; a pass that finds another one running) goes to
  ``streams`` more compiled models that split the threads, one request each, so the
  passes run side by side (bench/ ``speed_streams`` has the figures).  They are
  compiled on first use only: each keeps its own buffers.
* ``NST_PRECISION=auto`` lets OpenVINO pick (bf16 on CPUs that have it) for the
  transformer; ``f32`` forces f32 for bit-stable results across machines.  The
  predictor always runs in f32 (it is tiny), so a style code is the same on every
  CPU and at either precision: codes computed once ship with the presets
  (``vectors.npz``) and the fingerprint names the predictor's weights alone.
"""
from __future__ import annotations

import importlib.util
import os
import queue
import sys
import threading
from typing import Any

import numpy as np

from nst.backends import ov_ir
from nst.backends.base import (MIN_SIDE, Backend, check_content_array, check_style_array,
                               pad_to)
from nst.config import EngineConfig
from nst.errors import ModelError
from nst.models import PREDICTOR, SPECS, TRANSFORMER, engine_files_problem, locate

MULTIPLE = 4     # the transformer's strides: sides are padded up to a multiple of this
CONTENT_INPUT = "content_image"
# Snippets (OpenVINO's JIT-fused element-wise subgraphs) cost compile time on every new
# instance and buy these convolutional models no speed (bench/ speed_cold, "snippets").
COMPILE_PROPS = {"SNIPPETS_MODE": "DISABLE"}
CODE_SIZE = 100


def import_runtime() -> Any:
    """``import openvino`` without its model-conversion tools.

    The package imports ``openvino.tools.ovc`` (convert_model, with its telemetry) when
    it is first imported, and skips it quietly on ImportError; the engine reads the
    .tflite files itself and never converts, so a new instance need not pay for it
    (bench/ ``speed_cold``). Hidden only during that first import: an explicit
    ``import openvino.tools.ovc`` later still works.
    """
    if "openvino" in sys.modules:
        return sys.modules["openvino"]
    hidden = "openvino.tools.ovc" not in sys.modules
    if hidden:
        sys.modules["openvino.tools.ovc"] = None  # type: ignore[assignment]
    try:
        import openvino
    finally:
        if hidden and sys.modules.get("openvino.tools.ovc", 0) is None:
            del sys.modules["openvino.tools.ovc"]
    return openvino


def _pad_side(n: int) -> int:
    return -(-max(n, MIN_SIDE) // MULTIPLE) * MULTIPLE


class OpenVinoBackend(Backend):
    name = "openvino"
    linear_codes = True
    #: Every 1280-px preview (up to 1280×1280) in one pass: a split preview costs a
    #: global pass plus overlapping tiles.  HD tiles are smaller because the runtime
    #: keeps the memory of its largest pass; bench/ ``backends_hd`` has the trade-off.
    pass_pixels = 1280 * 1280
    tile_pixels = 1_000_000

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.threads = max(1, int(self.config.threads or os.cpu_count() or 1))
        self.precision = self.config.precision
        self._init_lock = threading.Lock()
        self._predict_lock = threading.Lock()
        self._transfer_lock = threading.Lock()
        self._predict: Any = None       # infer requests, made by _load_predictor / _load
        self._transfer: Any = None
        self._style_input = ""
        self._ov_core: Any = None
        self._model: Any = None         # the reshaped transformer (for the streams' compile)
        self._idle: queue.SimpleQueue[Any] | None = None   # idle stream requests
        self.compiles = 0               # models compiled by this backend (tests)
        #: Passes side by side for batch_transfer (NST_STREAMS; they share the threads).
        self.streams = max(1, min(self.config.streams, self.threads))

    @property
    def allocations(self) -> int:
        """Shape preparations, as LiteRT's ``allocate_tensors`` count: here compilations,
        since one compiled model serves every shape."""
        return self.compiles

    # --- loading -----------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        locate(PREDICTOR, self.config)
        return f"ov-{SPECS[PREDICTOR].sha256[:16]}"

    def _compile(self, core: Any, model: Any, **extra: Any) -> Any:
        props: dict[str, Any] = {"INFERENCE_NUM_THREADS": self.threads, **COMPILE_PROPS}
        if self.precision == "f32":
            props["INFERENCE_PRECISION_HINT"] = "f32"
        props.update(extra)
        compiled = core.compile_model(model, "CPU", props)
        self.compiles += 1
        return compiled

    def _core(self) -> Any:
        """One openvino.Core per backend (called under the init lock)."""
        if self._ov_core is None:
            try:
                openvino = import_runtime()
            except ImportError as e:  # pragma: no cover - dependency missing
                raise ModelError(code="runtime_missing",
                                 detail=f"openvino is not installed: {e}") from e
            self._ov_core = openvino.Core()
        return self._ov_core

    def _load(self) -> None:
        """Compile the transformer (the predictor waits for its first style code: with
        the presets' codes cached, a new instance never needs it)."""
        if self._transfer is not None:
            return
        with self._init_lock:
            if self._transfer is not None:
                return
            path = locate(TRANSFORMER, self.config)
            core = self._core()
            try:
                transformer = ov_ir.read_model(core, path, SPECS[TRANSFORMER].sha256)
                names = [i.get_any_name() for i in transformer.inputs]
                style = [n for n in names if n != CONTENT_INPUT]
                if CONTENT_INPUT not in names or len(style) != 1:
                    raise ModelError(code="model_load",
                                     detail=f"{TRANSFORMER}: unexpected inputs {names}")
                transformer.reshape({CONTENT_INPUT: [1, -1, -1, 3], style[0]: [1, 1, 1, CODE_SIZE]})
                transfer = self._compile(core, transformer).create_infer_request()
                self._model = transformer
            except ModelError:
                raise
            except Exception as e:  # OpenVINO raises RuntimeError subclasses
                raise ModelError(code="model_load", detail=f"openvino cannot load {path}: {e}") from e
            self._style_input = style[0]
            self._transfer = transfer

    def _load_predictor(self) -> None:
        if self._predict is not None:
            return
        with self._init_lock:
            if self._predict is not None:
                return
            path = locate(PREDICTOR, self.config)
            core = self._core()
            try:
                # The predictor is int8 throughout.  OpenVINO's int8 kernels requantize
                # differently from TFLite's and the error adds up over its 36 convolutions
                # (codes off by many quantization steps: another look).  With the
                # low-precision transformations off, the same fake-quantized graph runs
                # in float and the codes match LiteRT's within one output step
                # (tests/test_backend_openvino.py); the predictor is tiny, so speed is moot.
                predictor = core.read_model(str(path))
                # f32 whatever NST_PRECISION says: codes must not depend on the CPU.
                self._predict = self._compile(core, predictor, LP_TRANSFORMS_MODE=False,
                                              INFERENCE_PRECISION_HINT="f32").create_infer_request()
            except Exception as e:  # OpenVINO raises RuntimeError subclasses
                raise ModelError(code="model_load", detail=f"openvino cannot load {path}: {e}") from e

    def _stream_requests(self) -> "queue.SimpleQueue[Any]":
        """Idle requests of the throughput model (compiled on first use)."""
        if self._idle is not None:
            return self._idle
        self._load()
        with self._init_lock:
            if self._idle is None:
                # One compiled model per stream (1 stream, its share of the threads each):
                # OpenVINO's own NUM_STREAMS > 1 on this dynamic-shape model paints wrong
                # pictures (26/255 off the latency mode here; static shapes are fine).
                share = max(1, self.threads // self.streams)
                idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
                try:
                    for _ in range(self.streams):
                        compiled = self._compile(self._core(), self._model, NUM_STREAMS=1,
                                                 INFERENCE_NUM_THREADS=share)
                        idle.put(compiled.create_infer_request())
                except Exception as e:  # OpenVINO raises RuntimeError subclasses
                    raise ModelError(code="model_load", detail=f"openvino streams: {e}") from e
                self._idle = idle
        return self._idle

    def warmup(self) -> None:
        self._load()

    def health(self) -> tuple[bool, str]:
        if importlib.util.find_spec("openvino") is None:
            return False, "openvino backend: openvino is not installed"
        problem = engine_files_problem(self.config)
        if problem:
            return False, problem
        return True, f"openvino backend ({self.threads} threads, precision {self.precision})"

    # --- inference -----------------------------------------------------------------
    def style_vector(self, style: np.ndarray) -> np.ndarray:
        style = check_style_array(style)
        self._load_predictor()
        with self._predict_lock:
            out = self._predict.infer([style[None]], share_inputs=True, share_outputs=True)
            vec = np.asarray(out[0], dtype=np.float32).reshape(-1).copy()
        return vec

    def transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """A lone pass runs in the latency mode; one that arrives while another pass runs
        (several photos waiting on several workers) shares the cores as a stream."""
        self._load()
        if not self._transfer_lock.acquire(blocking=self.streams == 1):
            return self.batch_transfer(content, vector)
        try:
            return self._infer(self._transfer, content, vector)
        finally:
            self._transfer_lock.release()

    def batch_transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        if self.streams == 1:
            return self.transfer(content, vector)
        idle = self._stream_requests()
        request = idle.get()
        try:
            return self._infer(request, content, vector)
        finally:
            idle.put(request)

    def _infer(self, request: Any, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """One pass on ``request`` (which the caller holds alone)."""
        content = check_content_array(content)
        vector = np.asarray(vector, dtype=np.float32).reshape(1, 1, 1, -1)
        if vector.shape[-1] != CODE_SIZE:
            raise ValueError(f"style vectors have {CODE_SIZE} values, not {vector.shape[-1]}")
        h, w = content.shape[:2]
        x = pad_to(content, _pad_side(h), _pad_side(w))[None]
        out = request.infer({CONTENT_INPUT: x, self._style_input: vector},
                            share_inputs=True, share_outputs=True)
        # the result's buffer belongs to the request: copy the crop before releasing it
        result = np.array(out[0][0, :h, :w, :], dtype=np.float32)
        return np.clip(result, 0.0, 1.0, out=result)


__all__ = ["MULTIPLE", "OpenVinoBackend"]
