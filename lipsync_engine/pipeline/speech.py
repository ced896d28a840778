"""The dub as the generator sees it: fitted to the shot's length and cut into one window per frame."""
from __future__ import annotations

from collections.abc import Sequence
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lipsync_engine.audio import SAMPLE_RATE, frame_mel_windows, log_mel
from lipsync_engine.audio.vad import voice_activity
from lipsync_engine.errors import InputError
from lipsync_engine.options import AUDIO_POLICIES

# Audio this much longer than the shot is almost surely the wrong file: say so in the report.
FAR_LONGER_S = 2.0


@dataclass(frozen=True)
class FrameSpeech:
    """The dub aligned to a shot's frames."""

    pcm: np.ndarray  # float32 mono 16 kHz, exactly the shot's length (sample 0 = start of frame 0)
    mel: np.ndarray  # (N, MEL_BINS, MEL_WINDOW) float32, one window centred on each frame
    speech: np.ndarray  # (N,) bool, voice activity at each frame's centre
    warnings: tuple[str, ...] = ()


def frame_centres(starts: Sequence[Fraction], fps: Fraction) -> tuple[np.ndarray, Fraction]:
    """Centre time of each frame in seconds from the start of frame 0, and the shot's duration.

    ``starts``: presentation times (seconds, exact) of the frames in order; each frame lasts until the
    next one starts, the last for 1/fps. A constant-rate clip gives (i + 0.5) / fps exactly.
    """
    if not starts:
        raise InputError("the video has no frames; pass a shot with at least one decodable frame")
    origin = starts[0]
    rel = [s - origin for s in starts]
    ends = rel[1:] + [rel[-1] + 1 / Fraction(fps)]
    centres = np.array([float((a + b) / 2) for a, b in zip(rel, ends)], dtype=np.float64)
    return centres, ends[-1]


def dub_from(pcm: np.ndarray, offset_s: float | None) -> np.ndarray:
    """The float32 16 kHz dub from ``offset_s`` seconds on (all of it for None).

    InputError when the offset is negative, not a number, or at or past the end of the dub.
    """
    if offset_s is None:
        return pcm
    length_s = pcm.size / SAMPLE_RATE
    if not math.isfinite(offset_s) or offset_s < 0:
        raise InputError(f"the audio offset {offset_s} s is not a time in the dub; give the seconds into the dub "
                         f"where the take's first frame starts, 0 or more")
    if offset_s >= length_s:
        raise InputError(f"the audio offset {offset_s:.3f} s is past the end of the dub, which lasts {length_s:.3f} s; "
                         f"check the offset or the dub file")
    return pcm[int(round(offset_s * SAMPLE_RATE)):]


def fit_to_shot(pcm: np.ndarray, duration: Fraction, fps: Fraction, policy: str,
                stretch: bool = False) -> tuple[np.ndarray, list[str]]:
    """Cut or pad float32 16 kHz PCM to exactly ``duration`` seconds, per the audio policy.

    "fit_video": extra audio is cut, missing audio becomes silence (the mouth rests closed there).
    "strict": a length difference over one frame raises InputError naming both durations.
    ``stretch``: the take uses a stretch of a longer dub track (an audio offset was given), so only a
    dub that ends before the take does is a mismatch.
    """
    if policy not in AUDIO_POLICIES:
        raise InputError(f"audio policy '{policy}' is unknown; use one of {', '.join(AUDIO_POLICIES)}")
    target = int(round(duration * SAMPLE_RATE))
    audio_s, video_s = pcm.size / SAMPLE_RATE, float(duration)
    difference = min(audio_s - video_s, 0.0) if stretch else audio_s - video_s
    warnings: list[str] = []
    if abs(difference) > 1.0 / float(fps):
        if policy == "strict" and stretch:
            raise InputError(
                f"the dub from the audio offset on lasts {audio_s:.3f} s but the take lasts {video_s:.3f} s: the dub "
                f"is shorter than the clip; extend the dub or shorten the clip, or use the audio policy 'fit_video' "
                f"to fill the rest with silence"
            )
        if policy == "strict":
            raise InputError(
                f"the dub lasts {audio_s:.3f} s but the shot lasts {video_s:.3f} s; trim the dub to the shot, "
                f"or use the audio policy 'fit_video' to cut or pad it"
            )
        if difference > 0:
            note = f"the dub ({audio_s:.2f} s) is longer than the shot ({video_s:.2f} s); its last {difference:.2f} s were cut"
            if difference > FAR_LONGER_S:
                note += "; check that this is the right audio file for this shot"
        else:
            note = f"the dub ({audio_s:.2f} s) is shorter than the shot ({video_s:.2f} s); the last {-difference:.2f} s are silence"
        warnings.append(note)
    fitted = np.zeros(target, dtype=np.float32)
    fitted[: min(target, pcm.size)] = pcm[:target]
    return fitted, warnings


def speech_for_frames(pcm: np.ndarray, centres: np.ndarray, warnings: Sequence[str] = ()) -> FrameSpeech:
    """Mel windows and voice activity of 16 kHz PCM at the given frame centre times (seconds)."""
    mel = frame_mel_windows(log_mel(pcm), centres)
    speech = voice_activity(pcm, centres)
    if not speech.any():
        warnings = (*warnings, "the dub has no speech: the mouth rests closed in every frame")
    return FrameSpeech(pcm=pcm, mel=mel, speech=speech, warnings=tuple(warnings))
