"""What every case gets: options of the run, a scratch folder, lazily built engines."""
from __future__ import annotations

import functools
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: default repetitions per variant by long side (the big sizes take seconds each)
DEFAULT_REPEAT = {512: 9, 1024: 7, 2048: 3, 4096: 3}


@dataclass
class Context:
    """Run-wide settings and shared, lazily created objects."""

    repeat: int | None = None          # --repeat: overrides every default
    smoke: bool = False
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nst-bench-")))
    errors: dict[str, str] = field(default_factory=dict)

    def reps(self, default: int) -> int:
        """Repetitions for a case whose own default is ``default``."""
        return max(1, self.repeat) if self.repeat else default

    def reps_for_side(self, side: int) -> int:
        """Repetitions for a stylize case at ``side`` px."""
        return self.reps(DEFAULT_REPEAT.get(side, 3))

    @functools.cached_property
    def engine(self):
        """The production engine, as the bot builds it, warmed (models + preset vectors)."""
        from nst.config import EngineConfig
        from nst.engine import Engine

        eng = Engine.from_config(EngineConfig.from_env())
        eng.warmup()
        return eng

    @functools.cached_property
    def naive(self):
        """Baseline B's stylizer (interpreters with default settings, made once)."""
        from bench.inputs import MODEL_DIR
        from bench.naive import NaiveStylizer

        return NaiveStylizer(MODEL_DIR)

    def release_naive(self) -> None:
        """Drop baseline B's interpreters: their arena keeps the largest shape's memory."""
        self.__dict__.pop("naive", None)

    def photo_file(self, side: int) -> Path:
        """A JPEG of the test photo at ``side`` px in the scratch folder (made once)."""
        from bench.inputs import content

        path = self.scratch / f"photo_{side}.jpg"
        if not path.exists():
            content(side).save(path, "JPEG", quality=92)
        return path


def prepare_environment(scratch: Path) -> None:
    """Vendored models; style-vector caches in the scratch folder, never in the tree."""
    from bench.inputs import MODEL_DIR

    os.environ.setdefault("NST_MODEL_DIR", str(MODEL_DIR))
    os.environ.setdefault("NST_CACHE_DIR", str(scratch / "nst-cache"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
