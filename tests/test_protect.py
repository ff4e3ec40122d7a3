"""Faces and the person kept recognizable (issue 20), on vendored public-domain portraits."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devkit.clip_factory import pan
from nst import StyleOptions, load_image
from nst.protect import MaskTracker, coarse_mask, refine
from nst.subjects import anchors, decode_faces
from nst.temporal import temporal_error
from tests.cli_harness import one_line_error, run
from tests.conftest import DATA_DIR

PORTRAITS = DATA_DIR / "portraits"
PEOPLE = ("astronaut", "hopper")
PORTRAIT_CLIP = PORTRAITS / "hopper.jpg"
NOBODY = ("rocket", "cat", "coffee")   # a cat and a cup: no face, though the segmenter sees "a person"
STYLES = ("the_scream", "starry_night")


def _photo(name: str) -> Image.Image:
    return load_image(PORTRAITS / f"{name}.jpg")


def _paint(engine, name: str, style: str, mode: str) -> np.ndarray:
    out = engine.stylize(_photo(name), style, StyleOptions(max_side=640, protect=mode))
    return np.asarray(out, np.float32)


def _regions(engine, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(face box, background, body) boolean masks: the face detector's box; background =
    far from the segmenter's silhouette and from every face; body = person, no face."""
    import cv2

    photo = _photo(name)
    found = engine.subjects(photo)
    w, h = photo.size
    face = np.zeros((h, w), bool)
    near_face = np.zeros((h, w), bool)
    for f in found.faces:
        face[int(f.y0):int(f.y1), int(f.x0):int(f.x1)] = True
        m = int(f.width) // 2
        near_face[max(0, int(f.y0) - m):int(f.y1) + m, max(0, int(f.x0) - m):int(f.x1) + m] = True
    person = cv2.resize(found.person, (w, h)) > 0.5
    far = cv2.dilate(person.astype(np.uint8), np.ones((15, 15), np.uint8)) == 0
    return face, far & ~near_face, person & ~near_face


def _distance(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a - b)[where].mean())


def test_anchors_and_decode_follow_blazeface() -> None:
    a = anchors()
    assert a.shape == (896, 2) and a.min() > 0 and a.max() < 1
    reg = np.zeros((1, 896, 16), np.float32)
    reg[0, 5, :4] = (6.4, -12.8, 32.0, 64.0)    # pixels of the 128² input
    logits = np.full((1, 896, 1), -20.0, np.float32)
    logits[0, 5, 0] = 3.0
    (x0, y0, x1, y1, score), = decode_faces(reg, logits)
    cx, cy = a[5] + (0.05, -0.1)
    assert (x0, x1) == pytest.approx((cx - 0.125, cx + 0.125)) and (y0, y1) == pytest.approx((cy - 0.25, cy + 0.25))
    assert score == pytest.approx(1 / (1 + np.exp(-3.0)))


@pytest.mark.parametrize("name, faces, sizes", [
    ("astronaut", 1, (80, 130)),
    ("hopper", 1, (150, 240)),
    # four people: faces from ~40 to ~135 px, upright, turned, mirrored and tilted ±12–15°
    ("montage", 4, (25, 160)),
])
def test_faces_are_found_at_several_sizes_and_angles(engine, name: str, faces: int,
                                                     sizes: tuple[int, int]) -> None:
    found = engine.subjects(_photo(name))
    assert found.found and len(found.faces) == faces, found.faces
    assert all(sizes[0] <= f.width <= sizes[1] for f in found.faces), found.faces
    if name == "montage":
        widths = sorted(f.width for f in found.faces)
        assert widths[-1] > 3 * widths[0]   # a small face in the group is found too


@pytest.mark.parametrize("name", NOBODY)
def test_a_photo_without_a_face_is_unchanged_by_the_option(engine, name: str) -> None:
    assert not engine.subjects(_photo(name)).found
    none = _paint(engine, name, "the_scream", "none")
    for mode in ("faces", "person"):
        assert np.array_equal(_paint(engine, name, "the_scream", mode), none), mode


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", PEOPLE)
def test_faces_keep_the_face_and_paint_the_background(engine, name: str, style: str) -> None:
    none, faces = _paint(engine, name, style, "none"), _paint(engine, name, style, "faces")
    photo = np.asarray(_photo(name).resize(none.shape[1::-1], Image.Resampling.LANCZOS), np.float32)
    face, background, _ = _regions(engine, name)
    assert face.any() and background.mean() > 0.1
    d_none, d_faces = _distance(none, photo, face), _distance(faces, photo, face)
    assert d_faces <= 0.5 * d_none, (d_faces, d_none)
    bg_none, bg_faces = _distance(none, photo, background), _distance(faces, photo, background)
    assert bg_faces >= 0.8 * bg_none, (bg_faces, bg_none)


@pytest.mark.parametrize("name", PEOPLE)
def test_person_differs_visibly_from_faces(engine, name: str) -> None:
    faces, person = _paint(engine, name, "the_scream", "faces"), _paint(engine, name, "the_scream", "person")
    photo = np.asarray(_photo(name).resize(faces.shape[1::-1], Image.Resampling.LANCZOS), np.float32)
    _, background, body = _regions(engine, name)
    assert body.mean() > 0.05
    # the body: painted with `faces`, close to the photo with `person` (≥ 12/255 apart)
    assert _distance(person, faces, body) >= 12.0
    assert _distance(person, photo, body) <= 0.5 * _distance(faces, photo, body)
    # the background is painted either way
    assert _distance(person, photo, background) >= 0.8 * _distance(faces, photo, background)


def test_no_halo_around_the_head(engine) -> None:
    """Just outside the silhouette beside the face, the background stays painted."""
    import cv2

    name = "astronaut"
    photo_img = _photo(name)
    found = engine.subjects(photo_img)
    none, faces = _paint(engine, name, "the_scream", "none"), _paint(engine, name, "the_scream", "faces")
    h, w = none.shape[:2]
    photo = np.asarray(photo_img.resize((w, h), Image.Resampling.LANCZOS), np.float32)
    person = cv2.resize(found.person, (w, h)) > 0.5
    ring = (cv2.dilate(person.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0) & ~person
    f = found.faces[0]
    band = np.zeros((h, w), bool)   # the ring beside and above the face only
    band[max(0, int(f.y0 - f.height)):int(f.y1), max(0, int(f.x0 - f.width)):int(f.x1 + f.width)] = True
    ring &= band
    assert ring.sum() > 100
    assert _distance(faces, photo, ring) >= 0.8 * _distance(none, photo, ring)


def test_mask_edges_follow_the_photo() -> None:
    """refine() snaps a soft mask edge to the photo's edge (a step at x = 645 of 1280,
    the coarse mask's ramp spans 620–660): most of the rise happens at the step."""
    width = 1280
    photo = np.zeros((256, width, 3), np.uint8)
    photo[:, 645:] = 255
    coarse = np.tile(np.clip((np.arange(256) - 126) / 4, 0, 1).astype(np.float32), (256, 1))
    sharp = refine(coarse, photo)
    plain = np.asarray(Image.fromarray(coarse, "F").resize((width, 256), Image.Resampling.BILINEAR))
    jump = lambda m: float(m[:, 647].mean() - m[:, 642].mean())  # noqa: E731
    assert jump(sharp) > 0.4 and jump(sharp) > 1.8 * jump(plain), (jump(sharp), jump(plain))


@pytest.mark.parametrize("mode", ["faces", "person"])
def test_cli_protect(capsys, tmp_path: Path, mode: str) -> None:
    out = tmp_path / "out.jpg"
    code, stdout, _ = run(capsys, "stylize", PORTRAITS / "hopper.jpg", "the_scream", "-o", out,
                          "--max-side", "320", "--protect", mode)
    assert code == 0 and out.exists() and "wrote" in stdout


def test_cli_bad_protect_is_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "stylize", PORTRAITS / "hopper.jpg", "the_scream", "-o",
                       tmp_path / "o.jpg", "--protect", "everyone")
    assert code == 2 and "--protect" in one_line_error(err)


def test_clip_mask_is_stabilized(engine) -> None:
    """A pan over a portrait: the tracked mask moves with the face without flickering
    (less frame-to-frame change than the per-frame masks), and the painted clip is
    no less stable with faces kept than without."""
    frames = pan(PORTRAIT_CLIP, 12, (320, 320), step=4)
    tracker = MaskTracker()
    raw, tracked = [], []
    for frame in frames:
        m = coarse_mask(engine.subjects(Image.fromarray(frame)), "faces")
        assert m is not None
        raw.append(refine(m, frame))
        t = tracker(frame, m)
        assert t is not None
        tracked.append(refine(t, frame))
    as_img = [(255 * m[..., None].repeat(3, 2)).astype(np.uint8) for m in (raw + tracked)]
    flicker_raw = temporal_error(frames, as_img[:12])
    flicker_tracked = temporal_error(frames, as_img[12:])
    assert flicker_tracked < 0.8 * flicker_raw, (flicker_tracked, flicker_raw)


def test_a_clip_without_a_face_tracks_nothing(engine) -> None:
    """No face anywhere: every frame comes back as painted, and no flow is computed for a
    mask that holds nothing (it was the clip's most expensive step after the model)."""
    from nst.protect import FrameGuard

    frames = pan(PORTRAIT_CLIP, 7, (320, 320), step=4)
    empty = engine.subjects(Image.fromarray(np.zeros((320, 320, 3), np.uint8)))
    assert not empty.found
    guard = FrameGuard(lambda im: empty, "faces")
    flows = []
    tracker_flow = guard._tracker._flow
    real_between = tracker_flow.between
    tracker_flow.between = lambda a, b: flows.append(1) or real_between(a, b)
    painted = [np.full_like(f, 40) for f in frames]
    assert all(guard(f, p) is p for f, p in zip(frames, painted))
    assert flows == [] and not guard.found


def test_contact_sheet_renders_every_mode(engine) -> None:
    """The README's sheet (bench/contact_protect.py) works from the vendored photos."""
    from bench.contact_protect import CELL_H, DEFAULT_PHOTOS, HEAD_H, render_sheet

    assert all(p.exists() for p in DEFAULT_PHOTOS)
    sheet = render_sheet(engine, [DEFAULT_PHOTOS[1]], 160, ["udnie"])
    assert sheet.height == HEAD_H + CELL_H + 6
    cells = np.asarray(sheet.convert("L"), np.float32)[HEAD_H:HEAD_H + CELL_H, 190:]
    assert cells.std() > 20    # painted cells, not a blank sheet


def test_clip_keeps_the_face_in_every_frame_without_flicker(engine, tmp_path: Path) -> None:
    """stylize_clip with faces kept: the face (looked for every few frames, carried along
    the flow in between) stays close to the input in every frame, and the clip is no
    less stable than with faces painted."""
    from devkit.clip_factory import write_clip
    from nst.animate import stylize_clip
    from nst.video import open_clip

    frames = pan(PORTRAIT_CLIP, 12, (320, 320), step=4)
    src = write_clip(frames, tmp_path / "in.mp4")
    outs = {}
    for mode in ("none", "faces"):
        out = tmp_path / f"{mode}.mp4"
        stylize_clip(engine, open_clip(src), "the_scream", StyleOptions(protect=mode), out, "mp4")
        outs[mode] = [f for _, f in open_clip(out).frames()]
    inputs = [f for _, f in open_clip(src).frames()]
    for i, frame in enumerate(inputs):
        f = engine.subjects(Image.fromarray(frame)).faces[0]
        box = (slice(int(f.y0), int(f.y1)), slice(int(f.x0), int(f.x1)))
        d = {m: float(np.abs(outs[m][i][box].astype(np.float32) - frame[box]).mean()) for m in outs}
        assert d["faces"] <= 0.5 * d["none"], (i, d)
    assert temporal_error(inputs, outs["faces"]) <= 1.1 * temporal_error(inputs, outs["none"])
