"""Face protection's shortcuts (issue 23) change nothing that shows: the filtered part
is exactly what filtering the whole picture gives, and a repaint reuses the detection."""
from __future__ import annotations

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
