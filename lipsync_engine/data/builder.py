"""Build the dataset cache: decode each clip once, find its face per frame, align, and store crops + speech.

Landmarks come from ``faces.FaceLandmarker``: the face mesh runs in a box around the previous frame's
face and the detector runs only when that fails, then ``faces.align.align_face(points, CROP_SIZE)``
frames the crop. See ``lipsync_engine.data.cache`` for the layout written.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from lipsync_engine.audio import load_audio, log_mel
from lipsync_engine.data.cache import CODE_VERSION, CROP_SIZE, is_cached, write_clip, write_index
from lipsync_engine.data.splits import ClipSource
from lipsync_engine.errors import AudioError, MediaError
from lipsync_engine.faces import FaceLandmarker, align_face
from lipsync_engine.sync.mouth import mouth_images

MIN_FACE_WIDTH = 48.0  # frame pixels between the outer face edges; smaller faces are not usable


def build_cache(
    sources: list[ClipSource],
    cache: str | Path,
    *,
    rebuild: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Cache every clip of ``sources`` (skipping ones already cached from the same file); returns index.json's dict.

    ``progress(clip_id, done_clips, total_clips)`` is called before each clip.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    with FaceLandmarker() as landmarker:
        for done, source in enumerate(sources):
            if progress is not None:
                progress(source.clip_id, done, len(sources))
            if rebuild or not is_cached(cache, source.clip_id, source.path):
                build_clip(source, cache, landmarker)
    return write_index(cache)


def build_clip(source: ClipSource, cache: str | Path, landmarker: FaceLandmarker) -> Path:
    """Decode one clip, measure and align its face per frame, compute its log-mel; write its cache folder."""
    fps, frames = _decode(source.path)
    crops, points, valid = [], [], []
    previous: np.ndarray | None = None
    for rgb in frames:
        face = _face_points(landmarker, rgb, previous)
        previous = face
        if face is None:
            crops.append(np.zeros((CROP_SIZE, CROP_SIZE, 3), np.uint8))
            points.append(np.full((468, 2), np.nan, np.float32))
            valid.append(False)
            continue
        alignment = align_face(face, CROP_SIZE)
        crops.append(alignment.crop(rgb))
        points.append(alignment.to_crop(face.astype(np.float64)).astype(np.float32))
        valid.append(True)
    if not crops:
        raise MediaError(f"'{source.path}' decodes to no video frames; the file is empty or damaged")
    appearance_only = source.appearance_only
    try:
        mel = log_mel(load_audio(source.path))
    except AudioError:
        mel, appearance_only = log_mel(np.zeros(0, np.float32)), True  # no usable speech: faces only
    crops_arr = np.stack(crops)
    st = source.path.stat()
    meta = {
        "clip_id": source.clip_id, "source": source.source, "speaker_id": source.speaker_id,
        "split": source.split, "fps": f"{fps.numerator}/{fps.denominator}", "n_frames": len(crops),
        "appearance_only": appearance_only, "av_offset_frames": None,
        "source_path": str(source.path), "source_size": st.st_size, "source_mtime": st.st_mtime,
        "code_version": CODE_VERSION, "valid_frames": int(np.sum(valid)),
    }
    arrays = {"crops": crops_arr, "points": np.stack(points), "valid": np.array(valid, bool),
              "mel": mel, "mouths": mouth_images(crops_arr)}
    return write_clip(cache, meta, arrays)


def _decode(path: Path) -> tuple[Fraction, Iterator[np.ndarray]]:
    """(nominal fps, iterator of HxWx3 uint8 RGB frames in presentation order)."""
    try:
        container = av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"cannot open '{path}' as video ({exc}); pass a readable video file") from exc
    if not container.streams.video:
        container.close()
        raise MediaError(f"'{path}' has no video stream; pass a video of the speaker")
    stream = container.streams.video[0]
    fps = Fraction(stream.average_rate or stream.guessed_rate or 25)

    def frames() -> Iterator[np.ndarray]:
        with container:
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")

    return fps, frames()


def _face_points(landmarker: FaceLandmarker, rgb: np.ndarray, previous: np.ndarray | None) -> np.ndarray | None:
    """(468, 2) float32 frame-pixel landmarks of the main face, or None when no usable face."""
    points = None
    if previous is not None:
        lo, hi = previous.min(axis=0), previous.max(axis=0)
        points = landmarker.landmarks_in_box(rgb, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
    if points is None:
        faces = landmarker.detect(rgb)
        points = faces[0].points if faces else None
    if points is None or np.ptp(points[:, 0]) < MIN_FACE_WIDTH:
        return None
    return points
