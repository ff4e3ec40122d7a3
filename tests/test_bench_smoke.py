"""`python -m bench --smoke` runs, exits 0 and writes well-formed results (not into the tree)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

ROW_KEYS = {"case", "label", "value", "unit", "spread", "baseline", "baseline_value", "ratio",
            "target", "met", "note"}


def test_bench_smoke_writes_results(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NST_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "smoke" in proc.stdout, "the table goes to stdout"

    data = json.loads((tmp_path / "results.json").read_text())
    assert {"meta", "rows"} <= set(data)
    assert data["meta"]["smoke"] is True and data["meta"]["cases"] == ["smoke"]
    assert not data["meta"]["errors"]
    rows = data["rows"]
    assert rows and all(ROW_KEYS <= set(r) for r in rows)
    for r in rows:
        assert isinstance(r["value"], (int, float)) and math.isfinite(r["value"]) and r["value"] > 0, r
    timed = [r for r in rows if r["unit"] == "s"]
    assert timed, "the smoke case times ours against baseline B"
    for r in timed:
        assert r["baseline"] == "B" and r["baseline_value"] > 0 and r["ratio"] > 0
        assert 0 < r["spread"]["min"] <= r["spread"]["median"] <= r["spread"]["max"]

    md = (tmp_path / "RESULTS.md").read_text()
    assert md.startswith("# Benchmark results") and "| smoke |" in md
