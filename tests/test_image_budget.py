"""Decoding within a budget, every Pillow mode: a tiny PNG with a huge canvas costs at
most BUDGET_MB of peak RSS over a normal phone photo, as the photo and as the style,
and is painted or refused clearly (measured in one warm child process)."""
from __future__ import annotations

from pathlib import Path

import pytest

from devkit.hostile import MODES, hostile_png, measure
from tests.corpus.make_corpus import photo

BUDGET_MB = 150
HOSTILE_SIDE = 7000          # 49 MP
AT_CAP = {"photo": 4800, "style": 2800}   # just under the per-role caps: painted, small


@pytest.mark.slow
def test_hostile_pngs_stay_within_budget_as_photo_and_style(tmp_path: Path) -> None:
    normal = tmp_path / "normal.jpg"
    photo(4032, 3024).save(normal, "JPEG", quality=90)
    cases = [{"name": "normal JPEG 4032×3024", "role": role, "path": str(normal)}
             for role in ("photo", "style")]
    for mode in MODES:
        path = tmp_path / f"hostile-{mode.replace(';', '')}.png"
        path.write_bytes(hostile_png(mode, HOSTILE_SIDE))
        cases += [{"name": f"{mode} {HOSTILE_SIDE}² ({path.stat().st_size // 1024} KB)",
                   "role": role, "path": str(path)} for role in ("photo", "style")]
        for role, side in AT_CAP.items():
            near = tmp_path / f"cap-{role}-{mode.replace(';', '')}.png"
            near.write_bytes(hostile_png(mode, side))
            cases.append({"name": f"{mode} {side}²", "role": role, "path": str(near),
                          "under_cap": "yes"})
    figures = measure(normal, cases)
    base = {f["role"]: f["extra_mb"] for f in figures if f["name"].startswith("normal")}
    print()
    for f in figures:
        print(f"[budget] {f['role']:5} {f['name']:28} +{f['extra_mb']:6.0f} MB  {f['outcome']}")
    assert len(figures) == len(cases)
    over = [f for f in figures if f["extra_mb"] > base[f["role"]] + BUDGET_MB]
    assert not over, over
    for f in figures:
        assert f["outcome"].startswith(("painted", "refused")), f
        if f.get("under_cap"):
            assert f["outcome"].startswith("painted"), f
