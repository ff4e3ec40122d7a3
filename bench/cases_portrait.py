"""python -m bench.cases_portrait [--runs N] → bench/RESULTS-portrait.md

Issue 20's figures, side by side in one run: whole ``python -m nst`` processes
(wall time and peak RSS of each child, from ``os.wait4``), the commands
interleaved so the shared machine's noise hits every row alike:

* ``preview`` (9 presets, one 3×3 picture) against one ordinary ``stylize`` of the
  same 1800×1200 photo — the target is ≤ 1.5×;
* ``stylize --protect none | faces | person`` of a portrait: what keeping faces costs;
* the face / background distances of the tests (mean |Δ| from the photo, 0..255);
* how long looking for faces takes (warm, in one process).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
PHOTO = DATA / "exif" / "Landscape_0.jpg"
PORTRAIT = DATA / "portraits" / "montage.jpg"
OUT = REPO / "bench" / "RESULTS-portrait.md"


def _child(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one ``python -m nst`` process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "nst", *argv], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"nst {' '.join(argv)} failed ({proc.returncode})")
    return wall, usage.ru_maxrss / 1024


def _distances() -> list[tuple[str, str, float, float, float, float]]:
    """(photo, style, face none, face faces, background none, background faces)."""
    import numpy as np
    from PIL import Image

    from nst import Engine, EngineConfig, StyleOptions, load_image

    engine = Engine.from_config(EngineConfig.from_env())
    rows = []
    for name in ("astronaut", "hopper"):
        photo = load_image(DATA / "portraits" / f"{name}.jpg")
        found = engine.subjects(photo)
        arr = np.asarray(photo, np.float32)
        face = np.zeros(arr.shape[:2], bool)
        for f in found.faces:
            face[int(f.y0):int(f.y1), int(f.x0):int(f.x1)] = True
        person = np.asarray(Image.fromarray(found.person, "F").resize(photo.size)) > 0.5
        background = ~person & ~face
        for style in ("the_scream", "starry_night"):
            outs = {m: np.asarray(engine.stylize(photo, style, StyleOptions(protect=m)), np.float32)
                    for m in ("none", "faces")}
            d = {(m, r): float(np.abs(outs[m] - arr)[where].mean())
                 for m in outs for r, where in (("face", face), ("bg", background))}
            rows.append((name, style, d["none", "face"], d["faces", "face"],
                         d["none", "bg"], d["faces", "bg"]))
    return rows


def _finding() -> list[tuple[str, str, float, float]]:
    """(photo, size, min, median seconds) of engine.subjects, warm, 5 runs each."""
    from nst import Engine, EngineConfig, load_image

    engine = Engine.from_config(EngineConfig.from_env())
    engine.finder.warmup()
    rows = []
    for path in (PORTRAIT, PHOTO, DATA / "portraits" / "hopper.jpg"):
        photo = load_image(path)
        engine.subjects(photo)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            engine.subjects(photo)
            times.append(time.perf_counter() - started)
        rows.append((path.name, f"{photo.width}×{photo.height}", min(times), statistics.median(times)))
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.cases_portrait")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cases = {
            # both with the defaults (faces looked for, none there): what a user gets
            "stylize (ordinary painting)": ["stylize", str(PHOTO), "starry_night", "-o",
                                            str(out / "s.jpg")],
            "preview (9 presets, 3×3)": ["preview", str(PHOTO), "-o", str(out / "g.jpg")],
            "portrait --protect none": ["stylize", str(PORTRAIT), "the_scream", "-o",
                                        str(out / "p0.jpg"), "--protect", "none"],
            "portrait --protect faces": ["stylize", str(PORTRAIT), "the_scream", "-o",
                                         str(out / "p1.jpg"), "--protect", "faces"],
            "portrait --protect person": ["stylize", str(PORTRAIT), "the_scream", "-o",
                                          str(out / "p2.jpg"), "--protect", "person"],
        }
        for argv_ in cases.values():   # fill the style-vector cache first
            _child(argv_)
        got: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
        for _ in range(args.runs):
            for name, argv_ in cases.items():
                got[name].append(_child(argv_))
    base = statistics.median(w for w, _ in got["stylize (ordinary painting)"])
    base_min = min(w for w, _ in got["stylize (ordinary painting)"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Portraits and the 3×3 preview (python -m bench.cases_portrait)", "",
        f"{now} · {platform.machine()} · {os.cpu_count()} CPUs (shared with other work while "
        f"measured) · backend {os.environ.get('NST_BACKEND', 'openvino')} · {args.runs} runs "
        "of each whole `python -m nst` process, interleaved, after one run each to fill the "
        f"caches. Photo {PHOTO.name} (1800×1200) → 1280 px; portrait {PORTRAIT.name} "
        "(1374×560, four faces).", "",
        "| process | wall median (min–max) | × stylize (median / min) | peak RSS |",
        "|---|---|---|---|",
    ]
    for name, rows in got.items():
        walls = [w for w, _ in rows]
        lines.append(f"| {name} | {statistics.median(walls):.2f} s ({min(walls):.2f}–{max(walls):.2f}) "
                     f"| {statistics.median(walls) / base:.2f}× / {min(walls) / base_min:.2f}× "
                     f"| {max(r for _, r in rows):.0f} MB |")
    lines += ["", "## Face and background distance from the photo (mean |Δ|, 0..255, 1280 px)", "",
              "Face = the detector's box; background = outside the person and the faces. "
              "Target: faces ≤ 0.5× none on the face, ≥ 0.8× none on the background.", "",
              "| photo | style | face: none | face: faces | ratio | bg: none | bg: faces | ratio |",
              "|---|---|---|---|---|---|---|---|"]
    for name, style, fn, ff, bn, bf in _distances():
        lines.append(f"| {name} | {style} | {fn:.1f} | {ff:.1f} | {ff / fn:.2f} | {bn:.1f} | "
                     f"{bf:.1f} | {bf / bn:.2f} |")
    lines += ["", "## Looking for faces, warm, in one process (engine.subjects, 5 runs)", "",
              "| photo | size | min | median |", "|---|---|---|---|"]
    for name, size, best, median in _finding():
        lines.append(f"| {name} | {size} | {best * 1000:.0f} ms | {median * 1000:.0f} ms |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
