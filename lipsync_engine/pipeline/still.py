"""The image API: one still with exactly one face, plus speech, gives mouths that follow the speech."""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from lipsync_engine.audio import SAMPLE_RATE
from lipsync_engine.errors import AudioError, MediaError
from lipsync_engine.faces import image_face
from lipsync_engine.generator.base import Generator, ProfileSamples
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.pipeline.compose import Compositor, crop_face
from lipsync_engine.pipeline.speech import speech_for_frames

BATCH = 8  # stills rendered per generator call


def sync_frame(image: np.ndarray, pcm: np.ndarray, generator: Generator | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB + float32 mono 16 kHz speech -> HxWx3 uint8 RGB whose mouth is that of the speech's middle.

    The image must show exactly one face (else NoFaceError / MultipleFacesError). The result has the
    input's size; every pixel outside the feathered lower-face mask is identical to the input.
    """
    middle = len(_check_pcm(pcm)) / SAMPLE_RATE / 2
    return next(_render_still(image, pcm, np.array([middle]), generator))


def sync_frames(
    image: np.ndarray, pcm: np.ndarray, fps: Fraction = Fraction(25), generator: Generator | None = None
) -> Iterator[np.ndarray]:
    """One HxWx3 uint8 RGB frame per 1/fps of the speech (float32 mono 16 kHz), all from one still.

    Frame i shows the mouth at (i + 0.5) / fps seconds into the speech; the frame count is
    ceil(duration * fps). Frames are produced in batches as they are iterated.
    """
    fps = Fraction(fps)
    if fps <= 0:
        raise MediaError(f"fps must be positive, got {fps}")
    seconds = Fraction(len(_check_pcm(pcm)), SAMPLE_RATE)
    count = max(1, -(-seconds * fps // 1))
    centres = (np.arange(count) + 0.5) / float(fps)
    return _render_still(image, pcm, centres, generator, fps)


def _render_still(
    image: np.ndarray, pcm: np.ndarray, centres: np.ndarray, generator: Generator | None, fps: Fraction = Fraction(25)
) -> Iterator[np.ndarray]:
    """Check the inputs and prepare everything now (errors raise here), then render lazily in batches."""
    image = _check_image(image)
    generator = generator if generator is not None else load_generator("default")
    face = image_face(image)  # exactly one face, or a FaceError naming how many
    crop = crop_face(image, face.points, generator.crop_size)
    profile = generator.build_profile(ProfileSamples(crops=crop.crop[None], points=crop.points[None]))
    speech = speech_for_frames(np.asarray(pcm, dtype=np.float32), centres)
    poses = np.broadcast_to(crop.points, (len(speech.mel), *crop.points.shape))  # one picture: one pose
    motion = generator.plan(speech.mel, speech.speech, fps, profile, poses)
    return _batches(Compositor(generator, profile, generator.crop_size), image, face.points, motion)


def _batches(compositor: Compositor, image: np.ndarray, points: np.ndarray, motion: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(motion), BATCH):
        n = min(BATCH, len(motion) - start)
        batch_points = np.repeat(points[None], n, axis=0)
        faces, generated = compositor.generate([image] * n, batch_points, motion[start : start + n])
        yield from (frame for frame, _ in compositor.blend([image] * n, faces, generated, np.ones(n, np.float32)))


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise MediaError(
            f"the image must be an HxWx3 uint8 RGB array, got shape {image.shape} dtype {image.dtype}; "
            f"convert it (drop alpha, scale 16-bit to 8-bit) first"
        )
    if min(image.shape[:2]) < 32:
        raise MediaError(f"the image is {image.shape[1]}x{image.shape[0]}; a face needs at least 32x32 pixels")
    return image


def _check_pcm(pcm: np.ndarray) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or not np.issubdtype(pcm.dtype, np.floating):
        raise AudioError(
            f"speech must be float32 mono PCM at 16 kHz of shape (samples,), got shape {pcm.shape} dtype {pcm.dtype}; "
            f"use lipsync_engine.audio.load_audio or resample_to_16k"
        )
    if pcm.size == 0:
        raise AudioError("the speech is empty; pass at least one frame's worth of 16 kHz samples")
    return pcm
