"""Training and evaluation data: speaker splits, the per-clip cache of aligned faces + speech, loaders.

The cache format is documented in ``lipsync_engine.data.cache``.
"""
from lipsync_engine.data.cache import CROP_SIZE, ClipData, load_clip, load_clips
from lipsync_engine.data.splits import VALIDATION_SPEAKERS, ClipSource, split_of

__all__ = ["CROP_SIZE", "ClipData", "ClipSource", "VALIDATION_SPEAKERS", "load_clip", "load_clips", "split_of"]
