"""How good the sync expert is on held-out speakers: offset detection and the in-sync/shifted/mismatched gap."""
from __future__ import annotations

import numpy as np

from lipsync_engine.data.cache import ClipData
from lipsync_engine.sync.model import SyncExpert
from lipsync_engine.sync.scoring import MAX_OFFSET, measure, similarity_by_offset, stack_centres

SEGMENT = 50  # frames per offset-detection trial (2 s at 25 fps)
SHIFTED_MIN = 3  # |offset| counted as "shifted" from here on


def validate_expert(model: SyncExpert, clips: list[ClipData], segment: int = SEGMENT) -> dict[str, float]:
    """Offset detection within +/-1 frame (per 2 s segment and per clip) and mean similarities.

    ``clips`` must be sync-ready real footage of speakers the expert was not trained on; speech frames
    only are scored (segments are SEGMENT consecutive speech frames of a clip). Returns
    segment_accuracy, clip_accuracy, segments, clips, sim_in_sync, sim_shifted (|offset| >= 3),
    sim_mismatched (video with another speaker's audio), gap_shifted, gap_mismatched.
    """
    hits, clip_hits, in_sync, shifted, mismatched = [], [], [], [], []
    for n, clip in enumerate(clips):
        centres = stack_centres(clip.valid, model.config.frames)
        centres = centres[clip.speech_at(centres)]  # sync is judged where there is speech
        sim = similarity_by_offset(model, clip.mouths, clip.mel, clip.fps, centres, MAX_OFFSET, clip.av_offset)
        if sim.shape[1] == 0:
            continue
        clip_hits.append(abs(measure(sim).offset) <= 1)
        for start in range(0, sim.shape[1] - segment + 1, segment):
            hits.append(abs(measure(sim[:, start:start + segment]).offset) <= 1)
        offsets = np.abs(np.arange(-MAX_OFFSET, MAX_OFFSET + 1))
        in_sync.append(sim[MAX_OFFSET].mean())
        shifted.append(sim[offsets >= SHIFTED_MIN].mean())
        other = next((c for c in clips[n + 1:] + clips[:n] if c.speaker_id != clip.speaker_id), None)
        if other is not None:
            usable = centres[centres < other.n_frames - 1]
            cross = similarity_by_offset(model, clip.mouths, other.mel, other.fps, usable, 0, other.av_offset)
            mismatched.append(cross.mean())
    result = {
        "segment_accuracy": float(np.mean(hits)) if hits else float("nan"),
        "clip_accuracy": float(np.mean(clip_hits)) if clip_hits else float("nan"),
        "segments": len(hits),
        "clips": len(clip_hits),
        "sim_in_sync": float(np.mean(in_sync)),
        "sim_shifted": float(np.mean(shifted)),
        "sim_mismatched": float(np.mean(mismatched)) if mismatched else float("nan"),
    }
    result["gap_shifted"] = result["sim_in_sync"] - result["sim_shifted"]
    result["gap_mismatched"] = result["sim_in_sync"] - result["sim_mismatched"]
    return result
