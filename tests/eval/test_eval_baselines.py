"""The eval baselines on real aligned crops: mouth_frozen freezes the mouth, vad_control follows speech."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from lipsync_engine.data import load_clip
from lipsync_engine.eval.harness import actor_profile
from lipsync_engine.generator.baselines import mouth_patch_mask
from lipsync_engine.generator.loader import load_generator

CLIP = "user_vr5_woman_glasses_take1"


def test_mouth_frozen_gives_one_mouth_on_every_frame(eval_cache):
    clip = load_clip(eval_cache, CLIP)
    generator = load_generator("mouth_frozen")
    profile = actor_profile(generator, clip)
    crops, points = np.array(clip.crops[:12]), np.array(clip.points[:12])
    out = generator.render(crops, points, generator.plan(clip.mel_windows(np.arange(12)), np.ones(12, bool),
                                                         clip.fps, profile), profile)
    mask = mouth_patch_mask(generator.crop_size)
    core, outside = mask >= 1.0, mask == 0.0
    assert core.sum() > 1000
    assert (out[:, core] == out[0, core]).all()  # the same mouth pixels on every frame
    assert not (crops[:, core] == crops[0, core]).all()  # while the real mouths differ
    assert (out[:, outside] == crops[:, outside]).all()  # nothing outside the patch changes


def test_vad_control_opens_on_speech_only(eval_cache):
    clip = load_clip(eval_cache, CLIP)
    generator = load_generator("vad_control")
    profile = actor_profile(generator, clip)
    speech = np.array([False] * 6 + [True] * 6)
    motion = generator.plan(clip.mel_windows(np.arange(12)), speech, Fraction(25), profile)
    assert motion.shape == (12, 1)
    assert motion[:4].max() == 0.0 and motion[8:].min() == 1.0
    frame = np.repeat(np.array(clip.crops[:1]), 12, axis=0)
    out = generator.render(frame, np.repeat(np.array(clip.points[:1]), 12, axis=0), motion, profile)
    core = mouth_patch_mask(generator.crop_size) >= 1.0
    assert (out[:4, core] == out[0, core]).all() and (out[8:, core] == out[8, core]).all()
    assert np.abs(out[0, core].astype(int) - out[11, core].astype(int)).mean() > 5  # closed vs open mouth
