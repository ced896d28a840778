"""Faces: detection + 468-point landmarks (MediaPipe face mesh, bundled offline), tracking, alignment."""
from lipsync_engine.faces.align import Alignment, align_face
from lipsync_engine.faces.image import image_face
from lipsync_engine.faces.landmarks import FaceLandmarker, FaceLandmarks
from lipsync_engine.faces.quality import FaceRules
from lipsync_engine.faces.shot_track import ShotTrack
from lipsync_engine.faces.tracker import TrackerConfig, track_shot
from lipsync_engine.faces import topology

__all__ = [
    "Alignment", "align_face", "FaceLandmarker", "FaceLandmarks", "FaceRules", "ShotTrack", "TrackerConfig",
    "image_face", "topology", "track_shot",
]
