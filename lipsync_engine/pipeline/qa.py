"""The take's sync verdict for its QA record: the sync expert on the generated mouths against the dub."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lipsync_engine.audio import log_mel
from lipsync_engine.errors import ModelError
from lipsync_engine.sync import MOUTH_HW, load_sync_expert, mouth_images
from lipsync_engine.sync.scoring import measure, similarity_by_offset, stack_centres


@dataclass(frozen=True)
class SyncVerdict:
    """What the QA record says of sync; ``note`` explains a missing measurement."""

    confidence: float | None = None  # peak of the offset curve over its median (larger = clearer sync)
    offset: int | None = None  # frames; 0 = the mouth is in sync with the dub
    note: str | None = None


class SyncRecorder:
    """Keeps a small grayscale mouth image of each generated crop (3 kB a frame), then scores the take."""

    def __init__(self, frames: int) -> None:
        self.mouths = np.zeros((frames, *MOUTH_HW), np.uint8)  # (N, H, W) uint8 grayscale
        self.generated = np.zeros(frames, bool)  # frames whose mouth came from the generator

    def add(self, indices: np.ndarray, crops: np.ndarray) -> None:
        """indices (n,) frame numbers, crops (n, S, S, 3) uint8 RGB as the generator returned them."""
        self.mouths[indices] = mouth_images(crops)
        self.generated[indices] = True

    def verdict(self, pcm: np.ndarray, fps: Fraction, speech: np.ndarray) -> SyncVerdict:
        """Score the generated mouths against float32 16 kHz ``pcm``, on stacks centred on speech frames."""
        try:
            expert = load_sync_expert()
        except ModelError as exc:
            return SyncVerdict(note=f"sync not measured: {exc}")
        centres = stack_centres(self.generated, expert.config.frames)
        centres = centres[np.asarray(speech, bool)[centres]]
        if len(centres) == 0:
            return SyncVerdict(note=f"sync not measured: no {expert.config.frames} consecutive generated frames "
                                    f"with speech")
        result = measure(similarity_by_offset(expert, self.mouths, log_mel(pcm), fps, centres))
        return SyncVerdict(confidence=round(result.confidence, 4), offset=result.offset)
