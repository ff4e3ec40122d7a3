"""Timing and memory primitives: interleaved A/B repetitions, summaries, child processes.

The machine is shared and noisy, so every comparison runs its variants in the same loop,
round-robin (A B A B …), and reports the median with the spread (min, max, IQR).
"""
from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stats:
    """Summary of repeated samples (seconds, bytes, … — whatever was measured)."""

    median: float
    min: float
    max: float
    q1: float
    q3: float
    p95: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> "Stats":
        """Summarise ``samples`` (at least one)."""
        xs = sorted(float(x) for x in samples)
        if not xs:
            raise ValueError("no samples")
        return cls(
            median=statistics.median(xs), min=xs[0], max=xs[-1],
            q1=percentile(xs, 25), q3=percentile(xs, 75), p95=percentile(xs, 95), n=len(xs),
        )

    def as_dict(self) -> dict[str, float]:
        """JSON-friendly form."""
        return asdict(self)


def percentile(samples: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (``pct`` in 0..100) of ``samples``."""
    xs = sorted(samples)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * pct / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def interleave(variants: dict[str, Callable[[], object]], repeat: int,
               warmup: int = 1) -> dict[str, Stats]:
    """Time each variant ``repeat`` times, round-robin, after ``warmup`` untimed rounds.

    Returns one :class:`Stats` of wall-clock seconds per variant name.
    """
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(repeat):
        # alternate the order too, so neither variant always runs right after the other
        names = list(variants) if i % 2 == 0 else list(reversed(variants))
        for name in names:
            t0 = time.perf_counter()
            variants[name]()
            samples[name].append(time.perf_counter() - t0)
    return {name: Stats.of(xs) for name, xs in samples.items()}


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Read from ``VmHWM`` in /proc/self/status: it belongs to this process image only.
    ``getrusage(RUSAGE_SELF).ru_maxrss`` is carried across fork + exec on Linux, so in a
    child of a big parent it reports the parent's peak (seen here: 3.6 GB for a child that
    only imported ai_edge_litert). Falls back to ru_maxrss where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child process: repo on sys.path, vendored models, extras."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("NST_MODEL_DIR", str(REPO / "nst" / "data" / "models"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra or {})
    return env


def run_child(args: Sequence[str], timeout: float = 600.0,
              env: dict[str, str] | None = None, module: str = "bench.child") -> dict:
    """Run ``python -m MODULE ARGS`` and return the JSON it prints last on stdout."""
    cmd = [sys.executable, "-m", module, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          env=env or child_env())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed no JSON: {proc.stdout[-500:]}")
    return json.loads(lines[-1])


def time_subprocess(cmd: Sequence[str], timeout: float = 120.0,
                    env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of a whole subprocess (start to exit); raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=env or child_env())
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    return elapsed
