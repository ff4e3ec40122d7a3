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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "EngineConfig":
        env = os.environ if env is None else env
        backend = env.get("NST_BACKEND", "lite").strip().lower() or "lite"
        if backend not in ("lite", "hub"):
            raise ValueError(f"NST_BACKEND must be 'lite' or 'hub', not {backend!r}")
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
        )
