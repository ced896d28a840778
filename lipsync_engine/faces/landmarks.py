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
TILE_SIDE = 0.6  # corner tiles searched for small faces in large frames, as a fraction of each side
DETECTABLE_FRACTION = 1 / 34  # smallest face width found reliably, as a fraction of the frame's long side

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

    def detect_boxes(self, rgb: np.ndarray, small_faces: bool = True) -> list[tuple[Box, float]]:
        """Detector boxes (x0, y0, x1, y1) in frame pixels with scores, largest first.

        The full-range model finds faces down to about 1/30 of the frame's long side; when it finds
        nothing in a large frame and ``small_faces`` is set, four overlapping corner tiles (0.6 of each
        side) are searched too (4 more detector runs), which finds faces about half that size. A face filling most of the frame is out of the
        full-range model's range: the short-range model looks for it when nothing else is found.
        """
        _check_frame(rgb)
        h, w = rgb.shape[:2]
        boxes = self._detect_in(rgb, (0, 0, w, h), self._detector)
        if not boxes and small_faces and max(h, w) >= 2 * DETECT_MAX_SIDE:
            tw, th = round(w * TILE_SIDE), round(h * TILE_SIDE)
            for x0, y0 in ((0, 0), (w - tw, 0), (0, h - th), (w - tw, h - th)):
                boxes += self._detect_in(rgb, (x0, y0, x0 + tw, y0 + th), self._detector)
            boxes = _suppress_overlaps(boxes)
        if not boxes:
            boxes = self._detect_in(rgb, (0, 0, w, h), self._near_detector)
        boxes.sort(key=lambda b: -(b[0][2] - b[0][0]) * (b[0][3] - b[0][1]))
        return boxes

    @staticmethod
    def _detect_in(rgb: np.ndarray, region: tuple[int, int, int, int], detector) -> list[tuple[Box, float]]:
        """Run ``detector`` on ``region`` (x0, y0, x1, y1) of the frame shrunk to DETECT_MAX_SIDE; frame boxes."""
        x0, y0, x1, y1 = region
        part = rgb[y0:y1, x0:x1]
        h, w = part.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
        if scale < 1.0:
            part = cv2.resize(part, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        part = as_uint8(part)  # converted after shrinking: a 4K 16-bit frame is never converted whole
        boxes = []
        for det in detector.process(part).detections or []:
            rel = det.location_data.relative_bounding_box
            bx, by = x0 + rel.xmin * w, y0 + rel.ymin * h
            boxes.append(((bx, by, bx + rel.width * w, by + rel.height * h), float(det.score[0])))
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



def _suppress_overlaps(boxes: list[tuple[Box, float]], limit: float = 0.3) -> list[tuple[Box, float]]:
    """Keep the best-scoring of boxes that overlap (intersection over the smaller box > ``limit``)."""
    kept: list[tuple[Box, float]] = []
    for box, score in sorted(boxes, key=lambda b: -b[1]):
        if all(_overlap(box, other) <= limit for other, _ in kept):
            kept.append((box, score))
    return kept


def _overlap(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0
