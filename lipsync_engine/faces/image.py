"""The one-face rule for a single image: exactly one complete, usable face, or a clear error."""
from __future__ import annotations

import numpy as np

from lipsync_engine.errors import MultipleFacesError, NoFaceError
from lipsync_engine.faces.landmarks import DETECTABLE_FRACTION, FaceLandmarker, FaceLandmarks
from lipsync_engine.faces.quality import (
    FACE_CUT_OFF, FACE_TOO_SMALL, FACE_TURNED, FaceRules, eye_distance, face_problem, yaw_degrees,
)


def main_faces(faces: list[FaceLandmarks], rules: FaceRules) -> list[FaceLandmarks]:
    """Drop background faces narrower than ``rules.background_face_ratio`` of the widest face."""
    if not faces:
        return []
    widest = max(f.width for f in faces)
    return [f for f in faces if f.width >= rules.background_face_ratio * widest]


def image_face(rgb: np.ndarray, rules: FaceRules = FaceRules(),
               landmarker: FaceLandmarker | None = None) -> FaceLandmarks:
    """The single face of an HxWx3 uint8/uint16 RGB image.

    Raises NoFaceError when no usable face is found (none, too small, turned too far, cut off by the
    border) and MultipleFacesError when two or more faces of similar size are found. Faces much smaller
    than the main one (``rules.background_face_ratio``) are background and ignored.
    """
    own = landmarker is None
    landmarker = landmarker or FaceLandmarker()
    try:
        faces = main_faces(landmarker.detect(rgb), rules)
    finally:
        if own:
            landmarker.close()
    h, w = rgb.shape[:2]
    min_width = round(rules.min_eye_distance * 2.3)
    if not faces:
        findable = max(min_width, round(max(h, w) * DETECTABLE_FRACTION))
        raise NoFaceError(
            f"no face found in the image ({w} x {h}); pass an image with one clearly visible, frontal-ish "
            f"face at least {findable} px wide"
        )
    if len(faces) > 1:
        boxes = ", ".join(f"({b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, {b[3]:.0f})" for b in (f.box for f in faces))
        raise MultipleFacesError(
            f"{len(faces)} faces found in the image ({w} x {h}) at boxes x0, y0, x1, y1 = {boxes}; "
            "pass an image with exactly one face (crop it to the actor)"
        )
    face = faces[0]
    problem = face_problem(face.points, rgb.shape, rules)
    if problem == FACE_CUT_OFF:
        raise NoFaceError(
            f"the face in the image ({w} x {h}) is cut off by the image border; pass an image that shows "
            "the whole face from the eyes down to below the chin"
        )
    if problem == FACE_TOO_SMALL:
        raise NoFaceError(
            f"the face in the image ({w} x {h}) is too small: its eyes are {eye_distance(face.points):.0f} px "
            f"apart; it needs at least {rules.min_eye_distance:.0f} px (a face at least {min_width} px wide)"
        )
    if problem == FACE_TURNED:
        raise NoFaceError(
            f"the face in the image ({w} x {h}) is turned {abs(yaw_degrees(face.points)):.0f} degrees away "
            f"from the camera; pass a frontal-ish face (turned at most {rules.max_yaw_deg:.0f} degrees)"
        )
    return face
