"""Build the dataset cache: find the face through each clip, align, and store crops, landmarks and speech.

Two streaming passes over the video, as in the render pipeline: ``faces.tracker.track_shot`` measures
and smooths the face track, then each frame is cropped with ``faces.align.align_face(points,
CROP_SIZE)``. Memory stays bounded by the clip's crops, not its frames. See
``lipsync_engine.data.cache`` for the layout written.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from lipsync_engine.audio import load_audio, log_mel, voice_activity
from lipsync_engine.data.cache import CODE_VERSION, CROP_SIZE, clip_dir, is_cached, write_clip, write_index
from lipsync_engine.data.splits import ClipSource
from lipsync_engine.errors import AudioError, InputError, MediaError
from lipsync_engine.faces import FaceLandmarker, align_face
from lipsync_engine.faces.tracker import track_shot
from lipsync_engine.sync.mouth import mouth_images

KEPT_META = ("av_offset_frames", "av_offset_confidence", "av_offset_method")  # measured: survive a rebuild


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
    """Track, align and crop one clip's face per frame, compute its log-mel and voice activity; write its folder."""
    fps, frames = _decode(source.path)
    try:
        track = track_shot(enumerate(frames), fps=float(fps), landmarker=landmarker)
    except InputError as exc:
        raise MediaError(f"cannot track a face through '{source.path}' ({exc}); is the file empty or damaged?") from exc
    n = len(track)
    crops = np.zeros((n, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    points = np.full((n, 468, 2), np.nan, np.float32)
    for i, rgb in enumerate(_decode(source.path)[1]):
        if i < n and track.valid[i]:
            alignment = align_face(track.points[i], CROP_SIZE)
            crops[i] = alignment.crop(rgb)
            points[i] = alignment.to_crop(track.points[i].astype(np.float64))
    appearance_only = source.appearance_only
    centres = (np.arange(n) + 0.5) / float(fps)
    try:
        pcm = load_audio(source.path)
        mel, speech = log_mel(pcm), voice_activity(pcm, centres)
    except AudioError:  # no usable speech: faces only
        mel, speech, appearance_only = log_mel(np.zeros(0, np.float32)), np.zeros(n, bool), True
    st = source.path.stat()
    meta = {
        "clip_id": source.clip_id, "source": source.source, "speaker_id": source.speaker_id,
        "split": source.split, "fps": f"{fps.numerator}/{fps.denominator}", "n_frames": n,
        "appearance_only": appearance_only, "av_offset_frames": None,
        "source_path": str(source.path), "source_size": st.st_size, "source_mtime": st.st_mtime,
        "code_version": CODE_VERSION, "valid_frames": int(track.valid.sum()),
    }
    meta.update(_kept_meta(cache, source))
    arrays = {"crops": crops, "points": points, "valid": track.valid.astype(bool), "mel": mel,
              "speech": speech.astype(bool), "mouths": mouth_images(crops)}
    return write_clip(cache, meta, arrays)


def _kept_meta(cache: str | Path, source: ClipSource) -> dict:
    """Offsets measured earlier on this same source file (they do not depend on the builder's code)."""
    import json

    path = clip_dir(cache, source.clip_id) / "meta.json"
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    st = source.path.stat()
    if old.get("source_size") != st.st_size or old.get("source_mtime") != st.st_mtime:
        return {}
    return {k: old[k] for k in KEPT_META if k in old}


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
