"""Engine settings, read from the environment in this one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN_MODELS = PACKAGE_DIR / "data" / "models"
BUILTIN_STYLES = PACKAGE_DIR / "data" / "styles"
DEFAULT_HUB_HANDLE = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"


@dataclass(frozen=True)
class EngineConfig:
    """Where models and styles come from and how inference runs."""

    backend: str = "lite"                 # NST_BACKEND: lite | hub
    model_dir: Path | None = None         # NST_MODEL_DIR; None = vendored copies
    hub_handle: str = DEFAULT_HUB_HANDLE  # NST_HUB_HANDLE: URL or local SavedModel folder
    styles: str = str(BUILTIN_STYLES)     # STYLES: folder or gs://bucket/prefix
    cache_dir: Path | None = None         # NST_CACHE_DIR: style vectors, GCS copies
    threads: int | None = None            # NST_THREADS: interpreter threads (None = cores)
    xnnpack: bool = True                  # NST_XNNPACK: 0 = reference kernels (less memory, slower)
    pass_pixels: int = 1_300_000          # NST_PASS_PIXELS: largest output done in one pass
    tile_pixels: int = 250_000            # NST_TILE_PIXELS: pass size when tiling bigger outputs

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "EngineConfig":
        env = os.environ if env is None else env
        backend = env.get("NST_BACKEND", "lite").strip().lower() or "lite"
        if backend not in ("lite", "hub"):
            raise ValueError(f"NST_BACKEND must be 'lite' or 'hub', not {backend!r}")
        model_dir = env.get("NST_MODEL_DIR")
        cache_dir = env.get("NST_CACHE_DIR")
        threads = env.get("NST_THREADS")
        defaults = cls()
        return cls(
            backend=backend,
            model_dir=Path(model_dir) if model_dir else None,
            hub_handle=env.get("NST_HUB_HANDLE") or DEFAULT_HUB_HANDLE,
            styles=env.get("STYLES") or str(BUILTIN_STYLES),
            cache_dir=Path(cache_dir) if cache_dir else None,
            threads=int(threads) if threads else None,
            xnnpack=env.get("NST_XNNPACK", "1").strip().lower() not in ("0", "false", "no", "off"),
            pass_pixels=int(env.get("NST_PASS_PIXELS") or defaults.pass_pixels),
            tile_pixels=int(env.get("NST_TILE_PIXELS") or defaults.tile_pixels),
        )
