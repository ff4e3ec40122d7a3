"""Engine settings, read from the environment in this one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN_MODELS = PACKAGE_DIR / "data" / "models"
BUILTIN_STYLES = PACKAGE_DIR / "data" / "styles"
DEFAULT_HUB_HANDLE = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"
BACKENDS = ("openvino", "lite", "hub")   # NST_BACKEND values; the first is the default
PRECISIONS = ("auto", "f32")             # NST_PRECISION values (openvino backend)


@dataclass(frozen=True)
class EngineConfig:
    """Where models and styles come from and how inference runs."""

    backend: str = BACKENDS[0]            # NST_BACKEND: openvino | lite | hub
    model_dir: Path | None = None         # NST_MODEL_DIR; None = vendored copies
    hub_handle: str = DEFAULT_HUB_HANDLE  # NST_HUB_HANDLE: URL or local SavedModel folder
    styles: str = str(BUILTIN_STYLES)     # STYLES: folder or gs://bucket/prefix
    cache_dir: Path | None = None         # NST_CACHE_DIR: style vectors, GCS copies
    threads: int | None = None            # NST_THREADS: interpreter threads (None = cores)
    xnnpack: bool = True                  # NST_XNNPACK (lite): 0 = reference kernels (less memory, slower)
    precision: str = "auto"               # NST_PRECISION (openvino): auto (bf16 where the CPU has it) | f32
    # None = the backend's own default (Backend.pass_pixels / tile_pixels): the limits
    # follow each runtime's memory per pixel.
    pass_pixels: int | None = None        # NST_PASS_PIXELS: largest output done in one pass
    tile_pixels: int | None = None        # NST_TILE_PIXELS: pass size when tiling bigger outputs

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "EngineConfig":
        env: Mapping[str, str] = os.environ if environ is None else environ
        backend = env.get("NST_BACKEND", "").strip().lower() or BACKENDS[0]
        if backend not in BACKENDS:
            raise ValueError(f"NST_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        precision = env.get("NST_PRECISION", "").strip().lower() or PRECISIONS[0]
        if precision not in PRECISIONS:
            raise ValueError(f"NST_PRECISION must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        model_dir = env.get("NST_MODEL_DIR")
        cache_dir = env.get("NST_CACHE_DIR")
        threads = env.get("NST_THREADS")
        return cls(
            backend=backend,
            model_dir=Path(model_dir) if model_dir else None,
            hub_handle=env.get("NST_HUB_HANDLE") or DEFAULT_HUB_HANDLE,
            styles=env.get("STYLES") or str(BUILTIN_STYLES),
            cache_dir=Path(cache_dir) if cache_dir else None,
            threads=int(threads) if threads else None,
            xnnpack=env.get("NST_XNNPACK", "1").strip().lower() not in ("0", "false", "no", "off"),
            precision=precision,
            pass_pixels=_pixels(env, "NST_PASS_PIXELS"),
            tile_pixels=_pixels(env, "NST_TILE_PIXELS"),
        )


def _pixels(env: Mapping[str, str], name: str) -> int | None:
    value = (env.get(name) or "").strip()
    return int(value) if value else None
