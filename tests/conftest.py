"""Shared fixtures: where the test data lives, and one real engine per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
EXIF_DIR = SHARED / "testdata" / "exif"
MAGENTA_DIR = SHARED / "testdata" / "magenta"
MODEL_DIR = REPO / "nst" / "data" / "models"


@pytest.fixture(scope="session", autouse=True)
def _offline_env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Models from the vendored copies; caches in a temp dir, never in the tree."""
    os.environ.setdefault("NST_MODEL_DIR", str(MODEL_DIR))
    os.environ["NST_CACHE_DIR"] = str(tmp_path_factory.mktemp("nst-cache"))
    os.environ.pop("STORAGE_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared test data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def engine():
    """A real engine on the default backend (NST_BACKEND, else openvino), the vendored
    models and built-in presets, warmed once."""
    from nst import Engine, EngineConfig

    eng = Engine.from_config(EngineConfig.from_env())
    eng.warmup()
    return eng


@pytest.fixture(scope="session")
def lite_engine():
    """The same on the ``lite`` backend (the fallback stays tested), warmed once."""
    from dataclasses import replace

    from nst import Engine, EngineConfig

    eng = Engine.from_config(replace(EngineConfig.from_env(), backend="lite"))
    eng.warmup()
    return eng
