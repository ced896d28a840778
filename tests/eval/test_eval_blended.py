"""Every eval measure is taken on the take as a render shows it: blended into the real crop under the mask."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from lipsync_engine.blend import lower_face_mask
from lipsync_engine.data.cache import load_clips
from lipsync_engine.eval.runner import EvalConfig, evaluate_generator
from lipsync_engine.faces import FaceLandmarker
from lipsync_engine.generator.base import ActorProfile
from lipsync_engine.generator.identity import IdentityGenerator
from lipsync_engine.sync import build_sync_expert

# Crop pixels beyond the mask's footprint that paste never reads: the edge correction's low pass
# (sigma 0.02 S, kernel radius 16 px at S = 192) then the change map's blur (radius 6 px), with room.
REACH = 26


class OutsideOnlyGenerator(IdentityGenerator):
    """The real crop inside the blend mask (grown by REACH), its negative everywhere else: eyes, brow,
    hair and background are wrecked where the pipeline never pastes."""

    name = "outside_only"

    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        out = crops.copy()
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * REACH + 1, 2 * REACH + 1))
        for crop, p in zip(out, points):
            near = cv2.dilate((lower_face_mask(p, self.crop_size) > 0).astype(np.uint8), disc) > 0
            crop[~near] = 255 - crop[~near]
        return out


def test_a_crop_changed_only_outside_the_mask_scores_as_identity(eval_cache):
    torch.manual_seed(0)
    clips = load_clips(eval_cache, "val", sync_ready=True)
    size = clips[0].crops.shape[1]
    expert = build_sync_expert().eval()  # any expert: both takes must meet the same one
    config = EvalConfig(max_frames=20, one_clip_per_speaker=True)
    outside = OutsideOnlyGenerator(size)
    frames = np.flatnonzero(clips[0].valid)[:4]
    raw = outside.render(np.asarray(clips[0].crops[frames]), np.asarray(clips[0].points[frames]), None, None)
    assert np.mean(raw != np.asarray(clips[0].crops[frames])) > 0.3  # the raw crops are far from the source
    with FaceLandmarker() as landmarker:
        reference = evaluate_generator(IdentityGenerator(size), clips, expert, landmarker, config)
        blended = evaluate_generator(outside, clips, expert, landmarker, config)
    assert {r.take.kind for r in reference} == {"self", "cross"}
    for ref, got in zip(reference, blended, strict=True):
        assert np.array_equal(got.take.generated, ref.take.real)  # what a render shows: the source, exactly
        assert got.metrics.keys() == ref.metrics.keys()
        for key, value in ref.metrics.items():
            assert np.array_equal(got.metrics[key], value, equal_nan=True), key
    self_take = next(r for r in reference if r.take.kind == "self")
    assert self_take.metrics["psnr_mouth"] >= 99.0 and self_take.metrics["seam_step"] == 0.0
