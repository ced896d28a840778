"""sync_frame / sync_frames: any image size up to 4K, the one-face rule, bad speech."""
from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from lipsync_engine import load_generator, sync_frame, sync_frames
from lipsync_engine.errors import AudioError, MediaError, MultipleFacesError, NoFaceError

from media_factory import clip_frames
from lipsync_engine.faces import image_face
from pipeline_media import FACE_CLIP, OTHER_CLIP, changes_outside_the_mask, clip_speech, needs_data, tiny_learned_weights

pytestmark = needs_data


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return clip_frames(FACE_CLIP, 0.0, 1)[0]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return clip_speech(OTHER_CLIP, seconds=0.5)


def on_canvas(face: np.ndarray, width: int, height: int) -> np.ndarray:
    """The face frame centred on a grey canvas of width x height: cropped to a small canvas, else scaled to 60 %."""
    if height <= face.shape[0] and width <= face.shape[1]:
        y, x = (face.shape[0] - height) // 2, (face.shape[1] - width) // 2
        return np.ascontiguousarray(face[y:y + height, x:x + width])
    scale = 0.6 * min(height / face.shape[0], width / face.shape[1])
    small = cv2.resize(face, (round(face.shape[1] * scale), round(face.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full((height, width, 3), 127, np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    return canvas


@pytest.mark.parametrize("size", [(256, 256), (1001, 777), (1920, 1080), (3840, 2160), (4096, 2160)])
def test_identity_keeps_size_and_every_pixel(face, speech, size):
    image = on_canvas(face, *size)
    out = sync_frame(image, speech, load_generator("identity"))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out, image)


def test_learned_generator_changes_only_the_lower_face(face, speech, tmp_path):
    generator = load_generator(str(tiny_learned_weights(tmp_path)))
    image = on_canvas(face, 1001, 777)
    out = sync_frame(image, speech, generator)
    assert out.shape == image.shape
    changed, outside = changes_outside_the_mask(image, out, image_face(image).points, generator.crop_size)
    assert changed > 0 and outside == 0, (changed, outside)


def test_sync_frames_gives_one_frame_per_frame_time(face, speech):
    frames = list(sync_frames(face, speech, fps=Fraction(30000, 1001), generator=load_generator("identity")))
    assert len(frames) == 15  # ceil(0.5 s * 29.97)
    assert all(np.array_equal(f, face) for f in frames)


def test_one_face_rule(face, speech):
    identity = load_generator("identity")
    with pytest.raises(NoFaceError, match="no face"):
        sync_frame(np.full((288, 360, 3), 127, np.uint8), speech, identity)
    other = clip_frames(OTHER_CLIP, 0.0, 1)[0]
    with pytest.raises(MultipleFacesError, match="2 faces"):
        sync_frame(np.concatenate([face, other], axis=1), speech, identity)


def test_bad_speech_and_bad_images_are_clear(face, speech):
    identity = load_generator("identity")
    with pytest.raises(AudioError, match="float32 mono PCM"):
        sync_frame(face, (speech * 32767).astype(np.int16), identity)
    with pytest.raises(AudioError, match="empty"):
        sync_frame(face, np.zeros(0, np.float32), identity)
    with pytest.raises(MediaError, match="HxWx3 uint8"):
        sync_frame(face[..., 0], speech, identity)
    with pytest.raises(MediaError, match="fps must be positive"):
        sync_frames(face, speech, fps=0, generator=identity)
