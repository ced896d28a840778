"""The take's sync verdict for its QA record: the sync expert on the generated mouths against the dub.

The verdict is measured on at most QA_STACKS stacks of consecutive generated frames centred on speech,
spread evenly over the shot, so its cost and memory stay small whatever the shot's length.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lipsync_engine.audio import log_mel
from lipsync_engine.errors import ModelError
from lipsync_engine.sync import MOUTH_HW, SyncExpert, load_sync_expert, mouth_images
from lipsync_engine.sync.scoring import measure, similarity_by_offset, stack_centres

QA_STACKS = 96  # most mouth stacks scored per take


@dataclass(frozen=True)
class SyncVerdict:
    """What the QA record says of sync; ``note`` explains a missing measurement."""

    confidence: float | None = None  # peak of the offset curve over its median (larger = clearer sync)
    offset: int | None = None  # frames; 0 = the mouth is in sync with the dub
    note: str | None = None


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
        if self.note is None and len(centres) == 0:
            self.note = f"sync not measured: no {span} consecutive generated frames with speech"

    def add(self, indices: np.ndarray, crops: np.ndarray) -> None:
        """indices (n,) frame numbers, crops (n, S, S, 3) uint8 RGB as the generator returned them."""
        keep = self.wanted[indices]
        if keep.any():
            for index, mouth in zip(indices[keep], mouth_images(crops[keep])):
                self._mouths[int(index)] = mouth

    def verdict(self, pcm: np.ndarray, fps: Fraction) -> SyncVerdict:
        """Score the recorded mouths against the dub, float32 16 kHz ``pcm`` fitted to the shot."""
        if self._expert is None or len(self.centres) == 0:
            return SyncVerdict(note=self.note)
        mouths = np.zeros((int(self.centres.max()) + self._expert.config.frames, *MOUTH_HW), np.uint8)
        for index, mouth in self._mouths.items():
            mouths[index] = mouth
        result = measure(similarity_by_offset(self._expert, mouths, log_mel(pcm), fps, self.centres))
        return SyncVerdict(confidence=round(result.confidence, 4), offset=result.offset)
