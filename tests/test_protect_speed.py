"""Face protection's shortcuts (issue 23) change nothing that shows: the filtered part
is exactly what filtering the whole picture gives, and a repaint reuses the detection."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from nst import load_image
from nst.protect import blend, coarse_mask, protect_image, refine
from nst.subjects import SubjectFinder
from tests.conftest import DATA_DIR

PORTRAITS = DATA_DIR / "portraits"


@pytest.fixture(scope="module")
def finder() -> SubjectFinder:
    return SubjectFinder()


@pytest.mark.parametrize("name", ["astronaut", "hopper", "montage"])
@pytest.mark.parametrize("mode", ["faces", "person"])
def test_part_filtered_equals_whole_picture_filtered(finder: SubjectFinder, name: str,
                                                     mode: str) -> None:
    photo = load_image(PORTRAITS / f"{name}.jpg")
    photo = photo.resize((1280, round(1280 * photo.height / photo.width)))
    painting = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    found = finder.find(photo)
    coarse = coarse_mask(found, mode)
    assert coarse is not None, "every one of these portraits has a face"
    arr = np.asarray(photo)
    whole = blend(arr, np.asarray(painting), refine(coarse, arr))
    assert np.array_equal(np.asarray(protect_image(photo, painting, found, mode)), whole)


def test_repaint_reuses_the_detection(finder: SubjectFinder) -> None:
    photo = load_image(PORTRAITS / "hopper.jpg")
    first = finder.find(photo)
    assert first.faces
    assert finder.find(photo.copy()) is first
    other = photo.copy()
    other.putpixel((0, 0), (0, 0, 0) if photo.getpixel((0, 0)) != (0, 0, 0) else (255, 255, 255))
    assert finder.find(other) is not first
    assert finder.find(photo, small_faces=False) is not first
    assert not first.person.flags.writeable


def test_no_face_no_segmenter_run(finder: SubjectFinder) -> None:
    found = finder.find(load_image(PORTRAITS / "cat.jpg"))
    assert not found.faces and not found.person.any()


def _search_meets_the_painting(engine, monkeypatch) -> set[str]:
    """The face search and the transformer each wait until the other has started: done one
    after the other (either order), one of them waits in vain. Returns who saw the other."""
    searching, painting = threading.Event(), threading.Event()
    saw: set[str] = set()
    find, transfer = engine.finder.find, engine.backend.transfer

    def search(*args, **kwargs):
        searching.set()
        if painting.wait(20):
            saw.add("search")
        return find(*args, **kwargs)

    def paint(*args, **kwargs):
        painting.set()
        if searching.wait(20):
            saw.add("painting")
        return transfer(*args, **kwargs)

    monkeypatch.setattr(engine.finder, "find", search)
    monkeypatch.setattr(engine.backend, "transfer", paint)
    return saw


def test_faces_are_searched_beside_the_painting(engine, monkeypatch) -> None:
    """protect=faces (the default): the search runs while the model paints, not before."""
    from nst import StyleOptions

    photo = load_image(PORTRAITS / "hopper.jpg")
    saw = _search_meets_the_painting(engine, monkeypatch)
    engine.stylize(photo, "udnie", StyleOptions(max_side=512))
    assert saw == {"search", "painting"}, saw


def test_the_bot_searches_faces_beside_the_painting(engine, monkeypatch) -> None:
    """The bot's painting (which needs the faces for 🙂 even when they are painted over)."""
    from bot.painting import paint_photo
    from bot.records import FileRef, Render, Subject

    data = (PORTRAITS / "hopper.jpg").read_bytes()
    subject = Subject(FileRef("f", "u", "photo"), reply_to=1, ask=1)
    saw = _search_meets_the_painting(engine, monkeypatch)
    painting = paint_photo(engine, data, "udnie", Render.new(1, 1, subject, preset="udnie"), 512)
    assert saw == {"search", "painting"} and painting.faces
