"""What the pipeline tests add to tests/media_factory.py: the clips they cut, real speech, decoded frames."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from lipsync_engine.blend import lower_face_mask
from lipsync_engine.faces.align import align_face
from media_factory import shared_data

DATA = shared_data()
FACE_CLIP = (DATA or Path(".")) / "clips" / "grid_bbaf2n.mp4"  # 360x288 frontal studio face, 25 fps, 3 s
OTHER_CLIP = (DATA or Path(".")) / "clips" / "grid_lbbc2a.mp4"  # another speaker, same framing

needs_data = pytest.mark.skipif(DATA is None, reason="real clips not found: ../shared/data/clips beside the repo is absent")
LOSSLESS = {"codec": "ffv1", "pix_fmt": "bgr0"}  # make_video settings of a bit-exact RGB source


def clip_speech(clip: Path = FACE_CLIP, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    """The first ``seconds`` of a clip's speech as float32 mono at ``rate`` Hz."""
    chunks = []
    with av.open(str(clip)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
    return np.concatenate(chunks)[: int(seconds * rate)].astype(np.float32)


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a video as stored (no rotation applied), HxWx3 uint8 RGB."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    """Presentation time of every frame, seconds."""
    with av.open(str(path)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]


def changes_outside_the_mask(source: np.ndarray, take: np.ndarray, points: np.ndarray, size: int) -> tuple[int, int]:
    """(changed pixels, changed pixels farther than 2 px from the warped blend mask) of one frame."""
    changed = np.any(source != take, axis=2)
    alignment = align_face(points, size)
    mask = lower_face_mask(alignment.to_crop(points), size)
    in_frame = cv2.warpAffine(mask, alignment.inverse, (source.shape[1], source.shape[0]), flags=cv2.INTER_LINEAR)
    near_mask = cv2.dilate((in_frame > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return int(changed.sum()), int((changed & ~near_mask).sum())


def tiny_learned_weights(folder: Path) -> Path:
    """A weights file of the learned generator with tiny random networks (the real loader, no training)."""
    import torch

    from lipsync_engine.model import GeneratorConfig, MotionConfig, RendererConfig
    from lipsync_engine.model.audio_motion import build_audio_motion
    from lipsync_engine.model.bundle import GeneratorBundle, save_bundle
    from lipsync_engine.model.renderer import build_renderer

    torch.manual_seed(0)
    config = GeneratorConfig(name="tiny-random", renderer=RendererConfig(widths=(8, 8, 8, 8, 8)),
                             motion=MotionConfig(hidden=16))
    renderer = build_renderer(config.renderer)
    with torch.no_grad():  # a fresh head adds ~0 to the reference: a still (its own reference) would not change
        renderer.head.bias.fill_(0.5)
    bundle = GeneratorBundle(config=config, renderer=renderer,
                             motion=build_audio_motion(config.motion), basis=np.eye(10, 110, dtype=np.float32),
                             gain=np.ones(10, np.float32))
    path = folder / "tiny.safetensors"
    save_bundle(path, bundle)
    return path
