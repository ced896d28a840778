"""Face detection and 468-point landmarks with MediaPipe's bundled models (no download at run time).

Detection runs on a downscaled copy of the frame (MediaPipe's full-range detector, falling back to the
short-range one for faces that fill the frame, such as tight 224 px dataset crops), then the face mesh
runs on a square crop around each detected face at a fixed working resolution, so a face in a 4K frame
is measured as finely as one in a 256 px frame. Frames may be uint8 or uint16 (the top 8 bits are used).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the user's console
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.python.solutions import face_detection as mp_face_detection  # noqa: E402
from mediapipe.python.solutions import face_mesh as mp_face_mesh  # noqa: E402

from lipsync_engine.errors import MediaError  # noqa: E402
from lipsync_engine.faces.resample import warp_to_square  # noqa: E402

DETECT_MAX_SIDE = 640  # the detector sees frames at most this large
MESH_SIDE = 384  # the face mesh sees a square crop of this size around the face
BOX_MARGIN = 0.6  # crop for the mesh: detector box grown by this fraction on each side

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels


@dataclass(frozen=True)
class FaceLandmarks:
    """One face in one frame."""

    points: np.ndarray  # (468, 2) float32, full-frame pixel coordinates (x, y)
    box: Box  # detector box x0, y0, x1, y1 in frame pixels
    score: float  # detector confidence in [0, 1]

    @property
    def width(self) -> float:
        """Face width in frame pixels (outer eye corners are about 0.45 of it)."""
        return float(self.box[2] - self.box[0])


def _check_frame(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise MediaError(f"expected an HxWx3 RGB image, got an array of shape {rgb.shape}; convert grey or "
                         "RGBA images to RGB first")
    if rgb.dtype not in (np.uint8, np.uint16):
        raise MediaError(f"expected a uint8 or uint16 RGB image, got dtype {rgb.dtype}")


def as_uint8(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 or uint16 RGB -> contiguous HxWx3 uint8 (uint16 / 257, rounded: 257 * v maps to v)."""
    _check_frame(rgb)
    if rgb.dtype == np.uint16:
        rgb = cv2.convertScaleAbs(rgb, alpha=1.0 / 257.0)
    return np.ascontiguousarray(rgb)


class FaceLandmarker:
    """Finds every face in an RGB frame and measures its landmarks. Not thread-safe; one per thread."""

    def __init__(self, min_score: float = 0.5, max_faces: int = 4) -> None:
        self.min_score = min_score
        self.max_faces = max_faces
        self._detector = mp_face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_score)
        self._near_detector = mp_face_detection.FaceDetection(model_selection=0, min_detection_confidence=min_score)
        self._mesh = mp_face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=False, min_detection_confidence=0.3
        )

    def close(self) -> None:
        self._detector.close()
        self._near_detector.close()
        self._mesh.close()

    def __enter__(self) -> "FaceLandmarker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """All faces in an HxWx3 uint8/uint16 RGB frame, largest first; faces whose mesh fails are dropped."""
        faces = []
        for box, score in self.detect_boxes(rgb)[: self.max_faces]:
            points = self.landmarks_in_box(rgb, box)
            if points is not None:
                faces.append(FaceLandmarks(points=points, box=box, score=score))
        return faces

    def detect_boxes(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        """Detector boxes (x0, y0, x1, y1) in frame pixels with scores, largest first."""
        _check_frame(rgb)
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                                    interpolation=cv2.INTER_AREA)
        small = as_uint8(small)  # converted after shrinking: a 4K 16-bit frame is never converted whole
        detections = self._detector.process(small).detections
        if not detections:  # a face filling most of the frame is out of the full-range model's range
            detections = self._near_detector.process(small).detections
        boxes = []
        for det in detections or []:
            rel = det.location_data.relative_bounding_box
            x0, y0 = rel.xmin * w, rel.ymin * h
            boxes.append(((x0, y0, x0 + rel.width * w, y0 + rel.height * h), float(det.score[0])))
        boxes.sort(key=lambda b: -(b[0][2] - b[0][0]) * (b[0][3] - b[0][1]))
        return boxes

    def landmarks_in_box(self, rgb: np.ndarray, box: Box) -> np.ndarray | None:
        """Run the face mesh on a square crop around ``box``; (468, 2) float32 frame pixel coords or None."""
        _check_frame(rgb)
        x0, y0, x1, y1 = box
        side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * BOX_MARGIN)
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        scale = MESH_SIDE / side
        m = np.array([[scale, 0.0, MESH_SIDE / 2.0 - scale * cx], [0.0, scale, MESH_SIDE / 2.0 - scale * cy]])
        result = self._mesh.process(as_uint8(warp_to_square(rgb, m, MESH_SIDE, cv2.BORDER_CONSTANT)))
        if not result.multi_face_landmarks:
            return None
        lm = result.multi_face_landmarks[0].landmark
        pts = np.array([[p.x * MESH_SIDE, p.y * MESH_SIDE] for p in lm[:468]], dtype=np.float64)
        inv = cv2.invertAffineTransform(m)
        return (pts @ inv[:, :2].T + inv[:, 2]).astype(np.float32)

