"""SyncNet-style sync expert: a few consecutive mouth images against the speech window around them.

Two small conv encoders map (T grayscale mouth images) and (a log-mel window) to unit embeddings; their
cosine similarity is high when the mouth moves with the sound. Pure nn.Module, built by ``build_sync_expert``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lipsync_engine.sync.mouth import MOUTH_HW, mouth_stack_from_crops


@dataclass(frozen=True)
class SyncExpertConfig:
    """Shape of the expert; stored in its checkpoint."""

    frames: int = 5  # consecutive video frames per sample (200 ms at 25 fps)
    mouth_h: int = MOUTH_HW[0]  # grayscale mouth image size
    mouth_w: int = MOUTH_HW[1]
    mel_bins: int = 80  # audio.MEL_BINS
    mel_window: int = 20  # audio.MEL_WINDOW: 200 ms of 10 ms columns
    width: int = 24  # channels of the first conv layer; later layers scale from it
    embed_dim: int = 128

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int | tuple[int, int] = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SyncExpert(nn.Module):
    """Scores how well a mouth stack matches a speech window (cosine similarity in [-1, 1])."""

    def __init__(self, config: SyncExpertConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        self.video = nn.Sequential(
            _conv(config.frames, w, 2), _conv(w, w * 3 // 2), _conv(w * 3 // 2, 2 * w, 2), _conv(2 * w, 2 * w),
            _conv(2 * w, 3 * w, 2), _conv(3 * w, 4 * w, 2), nn.Flatten(),
        )
        self.audio = nn.Sequential(
            _conv(1, w), _conv(w, 2 * w, 2), _conv(2 * w, 3 * w, (2, 1)), _conv(3 * w, 4 * w, 2),
            _conv(4 * w, 4 * w, 2), nn.Flatten(),
        )
        video_cells = -(-config.mouth_h // 16) * -(-config.mouth_w // 16)
        audio_cells = -(-config.mel_bins // 16) * -(-config.mel_window // 8)
        self.video_head = nn.Linear(4 * w * video_cells, config.embed_dim)
        self.audio_head = nn.Linear(4 * w * audio_cells, config.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(10.0).log())  # contrastive temperature (training only)

    def embed_video(self, mouths: torch.Tensor) -> torch.Tensor:
        """mouths (B, frames, H, W) float grayscale in [0, 1] -> (B, embed_dim) unit vectors."""
        return F.normalize(self.video_head(self.video(mouths - 0.5)), dim=-1)

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, mel_bins, mel_window) float log-mel (audio.log_mel scale, [-4, 4]) -> (B, embed_dim) unit vectors."""
        return F.normalize(self.audio_head(self.audio(mel[:, None] / 4.0)), dim=-1)

    def mouth_stack_from_crops(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, frames, 3, S, S) float RGB in [0, 1] -> (B, frames, H, W): differentiable input for embed_video."""
        return mouth_stack_from_crops(crops, (self.config.mouth_h, self.config.mouth_w))

    def forward(self, mouths: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Cosine similarity (B,) in [-1, 1] of each mouth stack with its speech window."""
        return (self.embed_video(mouths) * self.embed_audio(mel)).sum(-1)


def build_sync_expert(config: SyncExpertConfig = SyncExpertConfig()) -> SyncExpert:
    """A new expert with random weights."""
    return SyncExpert(config)
