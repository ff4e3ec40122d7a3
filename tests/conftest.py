"""Shared fixtures: where the test data lives, and one real engine per session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Test inputs are vendored (licences in NOTICE): a fresh clone needs nothing beside it.
DATA_DIR = REPO / "tests" / "data"
EXIF_DIR = DATA_DIR / "exif"
MAGENTA_DIR = DATA_DIR / "magenta"
USER_STYLE = MAGENTA_DIR / "style" / "zigzag_colorful.jpg"   # a style that is not a preset
MODEL_DIR = REPO / "nst" / "data" / "models"

# Fixture modules: the fake Bot API + bot harness, the GCS emulator, the webhook app.
pytest_plugins = ("tests.bot_harness", "tests.gcs_emulator", "tests.webhook_harness",
                  "tests.miniapp_harness", "tests.tasks_harness")


@pytest.fixture(scope="session", autouse=True)
def _offline_env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Models from the vendored copies; caches in a temp dir, never in the tree."""
    os.environ.setdefault("NST_MODEL_DIR", str(MODEL_DIR))
    os.environ["NST_CACHE_DIR"] = str(tmp_path_factory.mktemp("nst-cache"))
    os.environ.pop("STORAGE_EMULATOR_HOST", None)


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
