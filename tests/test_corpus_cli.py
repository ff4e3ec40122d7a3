"""Every file of the bad-input corpus through the command line:
``python -m nst stylize CASE starry_night -o OUT.jpg``.

Contract (nst/cli.py): an "ok" case exits 0 and writes a decodable picture; anything
else exits 2 with exactly ONE line on stderr and never a traceback. Most cases run
``nst.cli.main`` in-process (milliseconds each); a handful run as real subprocesses
(started together, so they cost one interpreter start-up) to prove the same holds for
the actual command, exit code and streams included.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from nst.cli import main
from tests.conftest import REPO
from tests.corpus.make_corpus import Case, case_specs, make_corpus

SPECS = case_specs()
STYLE = "starry_night"
# One of each kind of refusal plus two good ones, as real processes.
SUBPROCESS_CASES = ("empty", "pdf_named_jpg", "truncated_jpeg", "bomb_30000x30000",
                    "panorama_21x1", "heic", "exif_gps")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {case.name: case for case in make_corpus(tmp_path_factory.mktemp("corpus"))}


def check_outcome(case: Case, code: int, stderr: str, out: Path) -> None:
    """The CLI contract for one case (see the module docstring)."""
    assert "Traceback" not in stderr, stderr
    if case.expect == "ok":
        assert code == 0, stderr
        with Image.open(out) as im:
            im.load()
            assert im.format == "JPEG" and min(im.size) >= 1
    else:
        assert code == 2, (code, stderr)
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("nst: "), stderr
        assert not out.exists(), "no output may be left behind for a refused input"


@pytest.mark.parametrize("name", [name for name, _, _ in SPECS])
def test_cli_in_process(name: str, corpus: dict[str, Case], tmp_path: Path,
                        capsys: pytest.CaptureFixture) -> None:
    case = corpus[name]
    out = tmp_path / "out.jpg"
    code = main(["stylize", str(case.path), STYLE, "-o", str(out), "--max-side", "160"])
    captured = capsys.readouterr()
    check_outcome(case, code, captured.err, out)


@pytest.mark.parametrize("name", [name for name, _, expect in SPECS if expect != "ok"])
def test_cli_bad_style_file_is_refused_in_one_line(name: str, corpus: dict[str, Case],
                                                   tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """The same corpus as the STYLE argument (a user's own style picture)."""
    case = corpus[name]
    good = corpus["rgb_jpeg"].path
    out = tmp_path / "out.jpg"
    code = main(["stylize", str(good), str(case.path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "style" in err and not out.exists()


def test_cli_as_real_processes(corpus: dict[str, Case], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NST_DEBUG", None)
    runs = []
    for name in SUBPROCESS_CASES:
        out = tmp_path / f"{name}.jpg"
        proc = subprocess.Popen(
            [sys.executable, "-m", "nst", "stylize", str(corpus[name].path), STYLE, "-o",
             str(out)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        runs.append((corpus[name], proc, out))
    for case, proc, out in runs:
        stdout, stderr = proc.communicate(timeout=120)
        check_outcome(case, proc.returncode, stderr, out)
        if case.expect == "ok":
            assert stdout.startswith("wrote "), stdout
