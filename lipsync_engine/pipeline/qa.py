"""The take's sync verdict for its QA record: the sync expert on the generated mouths against the dub.

The verdict is measured on at most QA_STACKS stacks of consecutive generated frames centred on speech,
spread evenly over the shot, so its cost and memory stay small whatever the shot's length.

The expert is weak on short stretches (eval/README.md), so the verdict says when it cannot tell: its
status is "in_sync", "offset" or "inconclusive". The thresholds come from
benchmarks/calibrate_sync_verdict.py on the held-out cached clips (8 clips, 5 speakers; windows of 25 to
150 frames at 25 fps, each with its own audio, its audio moved by -8..8 frames, another speaker's audio,
and one still mouth on every frame). An offset "agrees" below when it equals the clip's own lag (the
expert's median over the clip; several source clips lag their audio by 1 to 3 frames) plus the shift,
within one frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lipsync_engine.audio import log_mel
from lipsync_engine.errors import ModelError
from lipsync_engine.sync import MOUTH_HW, SyncExpert, load_sync_expert, mouth_images
from lipsync_engine.sync.scoring import MAX_OFFSET, measure, similarity_by_offset, stack_centres

QA_STACKS = 96  # most mouth stacks scored per take
# Speech stacks (5-frame mouth stacks centred on speech frames; "speech frames" in the verdict's words) an
# offset needs, and the confidence (peak minus median of the offset curve) it needs: in each band, above
# what a still mouth reached, where named offsets agreed. Measured by benchmarks/calibrate_sync_verdict.py
# (windows overlap: counts are not independent):
#   under 32 stacks: a still mouth reached 0.177; even at >= 0.20, 120 of 127 offsets agreed (94%): none named.
#   32-47 stacks: a still mouth reached 0.194; at >= 0.20, 55 of 55 agreed; 10 of 82 own-audio windows
#       and 4 of 306 with another speaker's audio got an offset.
#   48+ stacks: a still mouth reached 0.077 (the "still or loudness-driven" level); at >= 0.10, 143 of 146
#       agreed (60+ stacks: 79 of 79); 29 of 60 own-audio windows (median confidence 0.10) and 18 of 202
#       with another speaker's audio (60+ stacks: 1 of 107) got an offset.
MIN_STACKS = 32  # about 1.3 s of speech at 24 fps
SHORT_MIN_CONFIDENCE = 0.20  # for MIN_STACKS up to FULL_STACKS
FULL_STACKS = 48  # about 2 s of speech at 24 fps
MIN_CONFIDENCE = 0.10  # from FULL_STACKS on
# |offset| up to this many frames is "in sync": the expert resolves one frame (its validation counts an
# offset within one frame as found), and one frame at 24-30 fps (33-42 ms) is inside the ITU-R BT.1359
# detectability range (sound up to 45 ms early, 125 ms late).
IN_SYNC_FRAMES = 1

IN_SYNC, OFFSET, INCONCLUSIVE = "in_sync", "offset", "inconclusive"


@dataclass(frozen=True)
class SyncVerdict:
    """What the QA record says of sync; ``note`` explains a missing measurement.

    ``confidence`` and ``offset`` are the expert's raw best offset and its confidence, kept even when the
    status is inconclusive; ``status`` says whether they mean anything, ``reason`` why not.
    """

    confidence: float | None = None  # peak of the offset curve over its median (larger = clearer sync)
    offset: int | None = None  # frames; 0 = the mouth is in sync with the dub
    note: str | None = None
    status: str | None = None  # IN_SYNC, OFFSET or INCONCLUSIVE; None when not measured
    reason: str | None = None  # why the verdict is inconclusive: "(what was measured): what it means"

    def describe(self) -> str:
        """The verdict in words, for the CLI and the QA record."""
        if self.status is None:
            return self.note or "sync not measured"
        if self.status == INCONCLUSIVE:
            return f"sync check inconclusive {self.reason}"
        if self.status == IN_SYNC:
            return f"sync check: in sync (offset {self.offset:+d} frames, confidence {self.confidence:.3f})"
        lead = "before" if self.offset > 0 else "after"
        return (f"sync check: offset {self.offset:+d} frames, the mouth moves {abs(self.offset)} frames {lead} "
                f"the dub (confidence {self.confidence:.3f})")

    @property
    def warning(self) -> str | None:
        """A warning for the take's report: only a confident offset, or a measurement that could not run."""
        if self.status == OFFSET:
            return self.describe()
        return self.note if self.status is None else None


def judge(similarity: np.ndarray, max_offset: int = MAX_OFFSET) -> SyncVerdict:
    """The verdict on a (2 * max_offset + 1, stacks) similarity_by_offset array."""
    stacks = similarity.shape[1]
    if stacks == 0:
        return SyncVerdict(status=INCONCLUSIVE, reason="(no speech frames): no generated frames with speech to judge")
    result = measure(similarity, max_offset)
    confidence, offset = round(result.confidence, 4), result.offset
    needed = MIN_CONFIDENCE if stacks >= FULL_STACKS else SHORT_MIN_CONFIDENCE
    if stacks < MIN_STACKS:
        reason = f"({stacks} speech frames, needs {MIN_STACKS}): too little clear speech to judge"
    elif result.confidence < needed:
        with_stacks = f" for {stacks} speech frames" if stacks < FULL_STACKS else ""
        reason = (f"(confidence {result.confidence:.3f} below {needed:.2f}{with_stacks}): too little clear speech "
                  "to judge")
    elif abs(offset) >= max_offset:
        reason = (f"(best offset {offset:+d} frames, the edge of the +-{max_offset}-frame search): the best match "
                  "may lie beyond the search")
    else:
        return SyncVerdict(confidence, offset, status=IN_SYNC if abs(offset) <= IN_SYNC_FRAMES else OFFSET)
    return SyncVerdict(confidence, offset, status=INCONCLUSIVE, reason=reason)


class SyncRecorder:
    """Keeps small grayscale mouth images of the generated crops the verdict needs, then scores them."""

    def __init__(self, edit: np.ndarray, speech: np.ndarray) -> None:
        """edit (N,) bool: frames the generator will render; speech (N,) bool: voice activity of the dub."""
        try:
            self._expert: SyncExpert | None = load_sync_expert()
            self.note = None
        except ModelError as exc:
            self._expert, self.note = None, f"sync not measured: {exc}"
            edit = np.zeros_like(edit)
        span = self._expert.config.frames if self._expert is not None else 1
        centres = stack_centres(edit, span)
        centres = centres[np.asarray(speech, bool)[centres]]
        if len(centres) > QA_STACKS:
            centres = centres[np.linspace(0, len(centres) - 1, QA_STACKS).round().astype(int)]
        self.centres = centres
        self.wanted = np.zeros(len(edit), bool)
        for shift in range(-(span // 2), span // 2 + 1):
            self.wanted[centres + shift] = True
        self._mouths: dict[int, np.ndarray] = {}  # frame -> (H, W) uint8 grayscale mouth

    def add(self, indices: np.ndarray, crops: np.ndarray) -> None:
        """indices (n,) frame numbers, crops (n, S, S, 3) uint8 RGB as the generator returned them."""
        keep = self.wanted[indices]
        if keep.any():
            for index, mouth in zip(indices[keep], mouth_images(crops[keep])):
                self._mouths[int(index)] = mouth

    def verdict(self, pcm: np.ndarray, fps: Fraction) -> SyncVerdict:
        """Score the recorded mouths against the dub, float32 16 kHz ``pcm`` fitted to the shot."""
        if self._expert is None:
            return SyncVerdict(note=self.note)
        if len(self.centres) == 0:
            return judge(np.zeros((2 * MAX_OFFSET + 1, 0), np.float32))
        mouths = np.zeros((int(self.centres.max()) + self._expert.config.frames, *MOUTH_HW), np.uint8)
        for index, mouth in self._mouths.items():
            mouths[index] = mouth
        return judge(similarity_by_offset(self._expert, mouths, log_mel(pcm), fps, self.centres))
