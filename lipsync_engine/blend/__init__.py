"""Blend a generated face crop back into the full-resolution frame.

``lower_face_mask`` says where the generator's pixels may replace the source (a feathered lower face),
``paste`` warps them back, matches their colour and keeps the source's film grain and every pixel
outside the mask bit-identical.
"""
from lipsync_engine.blend.mask import MaskConfig, lower_face_mask
from lipsync_engine.blend.paste import PasteConfig, paste

__all__ = ["MaskConfig", "PasteConfig", "lower_face_mask", "paste"]
