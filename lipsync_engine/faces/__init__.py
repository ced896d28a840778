"""Faces: detection + 468-point landmarks (MediaPipe face mesh, bundled offline), alignment."""
from lipsync_engine.faces.align import Alignment, align_face
from lipsync_engine.faces.landmarks import FaceLandmarker, FaceLandmarks
from lipsync_engine.faces import topology

__all__ = ["Alignment", "align_face", "FaceLandmarker", "FaceLandmarks", "topology"]
