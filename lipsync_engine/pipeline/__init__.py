"""The render pipeline: whole shots (render_video) and stills (sync_frame, sync_frames)."""
from lipsync_engine.pipeline.render import render_video
from lipsync_engine.pipeline.still import sync_frame, sync_frames

__all__ = ["render_video", "sync_frame", "sync_frames"]
