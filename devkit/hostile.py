"""Hostile pictures and the memory they cost the bot (no pytest here; tests and bench).

A PNG of flat gradients compresses to a few hundred KB however large its canvas, and
some Pillow modes cost far more per pixel once decoded (16-bit grey, grey + alpha).
``measure`` runs the bot's own paint path on each file in one child process, as the
photo or as the style, and reports the peak RSS it added over the warm process.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

#: 16-bit grey, grey + alpha, palette, 1-bit: the modes the issue measured.
MODES = ("I;16", "LA", "P", "1")
REPO = Path(__file__).resolve().parents[1]


def hostile_png(mode: str, side: int) -> bytes:
    """A side×side PNG of `mode` holding smooth gradients (so the file stays small)."""
    ramp = Image.linear_gradient("L").resize((side, side))
    if mode == "I;16":
        wide = np.asarray(ramp, np.uint16) * 257
        img = Image.fromarray(wide)   # uint16 → I;16
    elif mode == "LA":
        img = Image.merge("LA", (ramp, ramp.transpose(Image.Transpose.ROTATE_90)))
    elif mode == "P":
        img = Image.frombytes("P", ramp.size, ramp.tobytes())
        img.putpalette([c for v in range(256) for c in (v, 255 - v, (v * 7) % 256)])
    elif mode == "1":
        img = ramp.point(lambda v: 255 if v > 127 else 0).convert("1")
    else:
        raise ValueError(f"no hostile builder for mode {mode!r}")
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=9)
    return out.getvalue()


CHILD = """
import gc, ctypes, json, sys
from nst import Engine, EngineConfig
from nst.errors import NstError
from bot.errors import UserError
from bot.painting import PREVIEW_SIDE, paint_photo
from bot.records import FileRef, Render, Subject

def status():
    return {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status")
            if l.startswith(("VmHWM", "VmRSS"))}

normal, cases = sys.argv[1], json.loads(sys.argv[2])
engine = Engine.from_config(EngineConfig.from_env())
engine.warmup()
preset = engine.catalog.presets()[0].id
render = Render.new(1, 1, Subject(FileRef("f", "u", "document"), 1, 1), preset=preset)
photo = open(normal, "rb").read()
paint_photo(engine, photo, preset, render, PREVIEW_SIDE)          # the warm preview
libc = ctypes.CDLL("libc.so.6")
for case in cases:
    data = open(case["path"], "rb").read()
    content, style = (data, preset) if case["role"] == "photo" else (photo, data)
    gc.collect(); libc.malloc_trim(0)
    before = status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                                    # peak := now
    try:
        out = paint_photo(engine, content, style, render, PREVIEW_SIDE)
        outcome = "painted %dx%d" % out.size
    except (UserError, NstError) as exc:
        outcome = "refused: " + getattr(exc, "user_message", str(exc))
    print(json.dumps({**case, "extra_mb": status()["VmHWM"] - before, "outcome": outcome}),
          flush=True)
    del data, content, style
"""


def measure(normal: Path, cases: list[dict[str, str]], timeout: float = 600) -> list[dict]:
    """Each case ({"name", "role": "photo"|"style", "path"}) painted by the bot's paint
    path in one warm child process; adds "extra_mb" (peak over the RSS just before) and
    "outcome" ("painted WxH" or "refused: <message>"). A crash raises."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(normal), json.dumps(cases)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the child died ({done.returncode}): {done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
