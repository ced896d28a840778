"""The one-face rule on real frames: landmarks, no face, two faces, background faces, cut-off and tiny faces."""
from __future__ import annotations

import numpy as np
import pytest

from lipsync_engine.errors import MediaError, MultipleFacesError, NoFaceError
from lipsync_engine.faces import image_face, topology
from lipsync_engine.faces.quality import eye_distance, yaw_degrees

from faces_media import clip_frames, landmarker, needs_clips, on_canvas  # noqa: F401 (fixture)

pytestmark = needs_clips


@pytest.mark.parametrize("clip", ["grid_bbaf2n.mp4", "pcavs_input_00010.mp4", "retalking_face2.mp4",
                                  "edtalk_obama.mp4", "sadtalker_WDA_AOC.mp4"])
def test_landmarks_found_on_real_clips(clip, landmarker):
    rgb = clip_frames(clip, 1, start=12)[0]
    face = image_face(rgb, landmarker=landmarker)
    p = face.points
    assert p.shape == (468, 2) and p.dtype == np.float32
    x0, y0, x1, y1 = face.box
    # Eyes above the nose tip above the mouth above the chin, all inside the detector box (with slack).
    eyes_y = p[list(topology.STABLE[:4])][:, 1].mean()
    assert eyes_y < p[topology.NOSE_TIP, 1] < p[topology.UPPER_LIP_OUTER, 1] < p[topology.CHIN, 1]
    slack = 0.3 * (x1 - x0)
    assert x0 - slack < p[:, 0].min() and p[:, 0].max() < x1 + slack
    assert 0.25 * (x1 - x0) < eye_distance(p) < 0.7 * (x1 - x0)


def test_yaw_estimate_flips_sign_in_a_mirror(landmarker):
    rgb = clip_frames("pcavs_input_00010.mp4", 1, start=12)[0]  # a head turned about 40 degrees
    yaw = yaw_degrees(image_face(rgb, landmarker=landmarker).points)
    mirrored = yaw_degrees(image_face(np.ascontiguousarray(rgb[:, ::-1]), landmarker=landmarker).points)
    assert 25 < abs(yaw) < 50
    assert mirrored == pytest.approx(-yaw, abs=5)


def test_two_faces_side_by_side_is_an_error(landmarker):
    a = clip_frames("grid_bbaf2n.mp4", 1)[0]
    b = clip_frames("edtalk_obama.mp4", 1)[0]
    pair = np.concatenate([on_canvas(a, (480, 400), 0.9), on_canvas(b, (480, 400), 0.9)], axis=1)
    with pytest.raises(MultipleFacesError, match=r"2 faces found in the image \(960 x 400\)") as err:
        image_face(pair, landmarker=landmarker)
    assert isinstance(err.value, ValueError)


def test_small_background_face_is_ignored(landmarker):
    actor = on_canvas(clip_frames("edtalk_obama.mp4", 1)[0], (900, 600), 0.9, x_centre=0.4)
    extra = on_canvas(clip_frames("grid_bbaf2n.mp4", 1)[0], (225, 180), 1.0)
    actor[10:190, 665:890] = extra  # a face about a third of the actor's width, in the corner
    assert len(landmarker.detect(actor)) == 2
    face = image_face(actor, landmarker=landmarker)
    assert face.box[0] < 600  # the actor, not the corner face


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_image_without_face_is_an_error(kind, landmarker):
    rng = np.random.default_rng(3)
    rgb = np.full((300, 500, 3), 128, np.uint8) if kind == "blank" else rng.integers(0, 256, (300, 500, 3), np.uint8)
    with pytest.raises(NoFaceError, match=r"no face found in the image \(500 x 300\).*at least \d+ px wide"):
        image_face(rgb, landmarker=landmarker)


def test_face_cut_off_by_the_border_is_an_error(landmarker):
    rgb = clip_frames("edtalk_obama.mp4", 1)[0]
    face = image_face(rgb, landmarker=landmarker)
    mouth_y = int(face.points[topology.UPPER_LIP_OUTER, 1])
    with pytest.raises(NoFaceError, match="cut off by the image border"):
        image_face(np.ascontiguousarray(rgb[: mouth_y + 5]), landmarker=landmarker)


def test_tiny_face_is_an_error(landmarker):
    rgb = on_canvas(clip_frames("edtalk_obama.mp4", 1)[0], (640, 480), 0.12)  # eyes about 12 px apart
    with pytest.raises(NoFaceError):
        image_face(rgb, landmarker=landmarker)


def test_uint16_frame_gives_the_same_landmarks(landmarker):
    rgb = clip_frames("sadtalker_WDA_AOC.mp4", 1)[0]
    face8 = image_face(rgb, landmarker=landmarker)
    face16 = image_face(rgb.astype(np.uint16) * 257, landmarker=landmarker)
    assert np.abs(face8.points - face16.points).max() < 0.5


def test_grey_image_is_a_clear_media_error(landmarker):
    with pytest.raises(MediaError, match=r"HxWx3 RGB image.*shape \(120, 160\)"):
        image_face(np.zeros((120, 160), np.uint8), landmarker=landmarker)


def test_small_face_in_a_4k_frame_is_found(landmarker):
    """A face about 1/35 of the frame's width: below the whole-frame detector's reach, found by the tiles."""
    rgb = on_canvas(clip_frames("edtalk_obama.mp4", 1)[0], (3840, 2160), 0.11, x_centre=0.3)
    face = image_face(rgb, landmarker=landmarker)
    assert 90 < face.width < 140 and 800 < face.box[0] < 1300
