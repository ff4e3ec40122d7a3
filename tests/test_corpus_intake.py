"""Every file of the generated bad-input corpus through nst.images.load_image."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from nst.errors import ImageError
from nst.images import MAX_RATIO, MIN_SIDE, load_image
from tests.conftest import REPO
from tests.corpus.make_corpus import Case, case_specs, make_corpus

SPECS = case_specs()
CODES = {"empty", "not_image", "corrupt", "too_big", "too_small", "bad_ratio"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {case.name: case for case in make_corpus(tmp_path_factory.mktemp("corpus"))}


def _check(case: Case, source) -> None:
    if case.expect == "ok":
        img = load_image(source)
        assert isinstance(img, Image.Image) and img.mode == "RGB"
        w, h = img.size
        assert min(w, h) >= MIN_SIDE and max(w, h) <= MAX_RATIO * min(w, h)
        img.getpixel((w - 1, h - 1))
    else:
        with pytest.raises(ImageError) as info:
            load_image(source)
        assert info.value.code == case.expect, info.value.detail
        assert info.value.user_message


@pytest.mark.parametrize("name", [name for name, _, _ in SPECS])
@pytest.mark.parametrize("via", ["path", "bytes"])
def test_corpus_case(name: str, via: str, corpus: dict[str, Case]) -> None:
    case = corpus[name]
    _check(case, case.path if via == "path" else case.path.read_bytes())


@pytest.mark.parametrize("name", [name for name, _, _ in SPECS])
def test_corpus_case_with_draft(name: str, corpus: dict[str, Case]) -> None:
    case = corpus[name]
    if case.expect == "ok":
        img = load_image(case.path, draft_side=48)
        full = load_image(case.path)
        assert img.mode == "RGB" and min(48, max(full.size)) <= max(img.size) <= max(full.size)
    else:
        with pytest.raises(ImageError) as info:
            load_image(case.path, draft_side=48)
        assert info.value.code == case.expect


def test_corpus_shape(corpus: dict[str, Case]) -> None:
    assert len(corpus) >= 30
    assert len({c.path.name for c in corpus.values()}) == len(corpus)
    expects = {c.expect for c in corpus.values()}
    assert expects == CODES | {"ok"}
    for case in corpus.values():
        assert case.path.is_file()
        assert (case.path.stat().st_size == 0) == (case.expect == "empty")
    assert [(c.name, c.path.suffix[1:], c.expect) for c in corpus.values()] == SPECS


def test_make_corpus_is_fast_and_deterministic(tmp_path: Path, corpus: dict[str, Case]) -> None:
    start = time.perf_counter()
    again = make_corpus(tmp_path / "again")
    assert time.perf_counter() - start < 5
    for case in again:
        assert case.path.read_bytes() == corpus[case.name].path.read_bytes(), case.name


def test_make_corpus_script(tmp_path: Path) -> None:
    out = tmp_path / "script-out"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.corpus.make_corpus", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(SPECS)
    for line, (name, ext, expect) in zip(lines, SPECS):
        got_expect, _size, path = line.split("\t")
        assert got_expect == expect and Path(path) == out / f"{name}.{ext}" and Path(path).is_file()
    usage = subprocess.run([sys.executable, "-m", "tests.corpus.make_corpus"], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage" in usage.stderr
