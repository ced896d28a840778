"""Held-back runs of `lipsync eval`: each held-out clip's earlier frames stand for the actor's own footage,
its later frames are where the takes run.

A standard run builds every actor profile from frames spread over the whole clip, the take's own frames
among them, so a reference can be the very frame being rebuilt (`render` does the same on a shot: its quick
profile comes from the shot), which could flatter self-reconstruction. In a held-back run the generator
never sees a frame it is measured on, which is also the setting of `lipsync adapt`: the profile, and the
renderer fine-tuned for the actor, come from the footage part only, and adapted and generic renderers are
measured on the same later takes.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from lipsync_engine.data.cache import ClipData
from lipsync_engine.errors import InputError
from lipsync_engine.eval.harness import actor_profile, profile_samples
from lipsync_engine.generator.base import ActorProfile, Generator
from lipsync_engine.generator.learned import LearnedGenerator
from lipsync_engine.train.adapt import MIN_FRAMES, AdaptConfig, adapt_actor

MIN_TAKE_FRAMES = 12  # a held-back part shorter than this cannot give a take worth measuring


def split_frame(clip: ClipData, held_back: float) -> int:
    """The first frame of ``clip``'s held-back part (its last ``held_back`` share of the frames)."""
    if not 0.0 < held_back < 1.0:
        raise InputError(f"the held-back share must be between 0 and 1 (e.g. 0.4), got {held_back}")
    start = int(round(clip.n_frames * (1.0 - held_back)))
    footage = int(np.sum(clip.valid[:start]))
    if footage < MIN_FRAMES or clip.n_frames - start < MIN_TAKE_FRAMES:
        raise InputError(f"clip '{clip.clip_id}' ({clip.n_frames} frames) is too short to hold back "
                         f"{held_back:.0%}: it leaves {footage} footage frames with a face (at least {MIN_FRAMES}) "
                         f"and {clip.n_frames - start} take frames (at least {MIN_TAKE_FRAMES}); use another share")
    return start


def later_part(clip: ClipData, start: int) -> ClipData:
    """``clip`` from its frame ``start`` on, as a clip whose frame 0 is that frame.

    The audio stays the whole clip's (its mel and voice activity), with ``start`` added to the clip's audio
    offset, so every later frame is heard with exactly the speech it was heard with in the clip, the speech
    before the cut that its first windows reach into included."""
    meta = {**clip.meta, "n_frames": clip.n_frames - start, "av_offset_frames": clip.av_offset + start}
    return replace(clip, meta=meta, crops=clip.crops[start:], points=clip.points[start:], valid=clip.valid[start:],
                   mouths=clip.mouths[start:])


def footage_profiles(generator: Generator, clips: list[ClipData], held_back: float,
                     adapt_minutes: float | None = None,
                     log: Callable[[str], None] = print) -> tuple[dict[str, ActorProfile], dict[str, dict]]:
    """Each clip's profile from its footage part, keyed by clip id, and what adaptation reported per clip.

    ``adapt_minutes`` None: the quick profile `render` builds (harness.actor_profile). A number: what
    `lipsync adapt --finetune-minutes` builds from every footage frame (0: the reference index only)."""
    profiles, reports = {}, {}
    for clip in clips:
        start = split_frame(clip, held_back)
        if adapt_minutes is None:
            profiles[clip.clip_id] = actor_profile(generator, clip, before=start)
            continue
        if not isinstance(generator, LearnedGenerator):
            raise InputError(f"generator '{generator.name}' has no renderer to adapt; adapt a learned generator")
        frames = np.flatnonzero(clip.valid[:start])
        samples = profile_samples(clip, frames, generator.crop_size)
        log(f"  adapting to {clip.clip_id}: {len(frames)} footage frames, {adapt_minutes:g} min fine-tune")
        profiles[clip.clip_id], reports[clip.clip_id] = adapt_actor(
            generator, samples, AdaptConfig(finetune_minutes=adapt_minutes), clip.clip_id, log=lambda line: None)
    return profiles, reports
