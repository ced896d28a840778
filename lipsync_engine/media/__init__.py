"""Media I/O of the engine: probe, streaming decode to RGB, streaming encode with atomic output.

Inputs are opened as local files of an allowed container format only (see opening.py); the writer's
codec, pixel-format and container policy is documented in formats.py, rotation and timing in writer.py.
"""
from lipsync_engine.media.atomic import AtomicOutput, atomic_path
from lipsync_engine.media.formats import EncoderSettings, encoder_settings, estimated_take_bytes
from lipsync_engine.media.limits import MediaLimits
from lipsync_engine.media.native import ChangedRegion
from lipsync_engine.media.probe import VideoInfo, probe_video
from lipsync_engine.media.reader import Frame, read_frames
from lipsync_engine.media.writer import VideoWriter

__all__ = [
    "AtomicOutput",
    "ChangedRegion",
    "EncoderSettings",
    "Frame",
    "MediaLimits",
    "VideoInfo",
    "VideoWriter",
    "atomic_path",
    "encoder_settings",
    "estimated_take_bytes",
    "probe_video",
    "read_frames",
]
