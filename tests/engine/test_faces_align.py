"""align_face: the crop framing, its exact inverse, and crops of large frames that do not alias."""
from __future__ import annotations

import cv2
import numpy as np

from lipsync_engine.faces import align_face, image_face, topology

from faces_media import clip_frames, landmarker, needs_clips  # noqa: F401 (fixture)

pytestmark = needs_clips


def test_alignment_inverse_is_exact_and_framing_is_upright(landmarker):
    rgb = clip_frames("retalking_face2.mp4", 1)[0]
    points = image_face(rgb, landmarker=landmarker).points
    alignment = align_face(points, 256)
    crop_points = alignment.to_crop(points)
    np.testing.assert_allclose(alignment.to_frame(crop_points), points, atol=1e-3)
    left, right = crop_points[list(topology.LEFT_EYE)].mean(0), crop_points[list(topology.RIGHT_EYE)].mean(0)
    eye_distance = np.linalg.norm(right - left)
    assert 256 / 3.4 * 0.9 < eye_distance < 256 / 3.4 * 1.1  # one eye distance = S / 3.4
    assert abs(left[1] - right[1]) < 0.1 * eye_distance  # upright (within about 6 degrees of roll)
    assert 0 < crop_points[:, 1].min() and crop_points[topology.CHIN, 1] < 256  # forehead to chin inside


def test_crop_of_a_4k_face_matches_the_same_face_at_native_size(landmarker):
    """The same face 4x larger (as at 4K) gives nearly the same crop: area-averaged, not aliased."""
    rgb = clip_frames("retalking_face2.mp4", 1)[0]
    rng = np.random.default_rng(1)
    big = cv2.resize(rgb, (844 * 4, 844 * 4), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big + rng.normal(0, 12, big.shape), 0, 255).astype(np.uint8)  # fine grain at 4K
    alignment = align_face(image_face(rgb, landmarker=landmarker).points, 256)
    # The same framing for the 4x frame (pixel centres: p_native = (p_big + 0.5) / 4 - 0.5).
    matrix = alignment.matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([-0.375, -0.375])
    matrix[:, :2] /= 4
    big_alignment = type(alignment)(matrix=matrix, size=256)
    crop = big_alignment.crop(big).astype(float)
    naive = cv2.warpAffine(big, matrix, (256, 256), flags=cv2.INTER_LINEAR).astype(float)
    reference = alignment.crop(rgb).astype(float)
    assert np.abs(crop - reference).mean() < 2.0
    assert np.abs(naive - reference).mean() > 2 * np.abs(crop - reference).mean()  # grain aliased through
