"""The dataset cache: per-clip arrays of aligned faces, landmarks and speech, decoded once and reused.

Layout (``<cache>`` is e.g. ``.cache/dataset``)::

    <cache>/index.json            {"version", "crop_size", "clips": {clip_id: {split, speaker_id, source,
                                   n_frames, appearance_only, av_offset_frames}}}
    <cache>/<clip_id>/crops.npy   (N, 192, 192, 3) uint8 RGB aligned face crops, framing of
                                   faces.align.align_face(points, 192) on the smoothed face track of
                                   faces.tracker.track_shot (as the render pipeline); zeros where invalid
    <cache>/<clip_id>/points.npy  (N, 468, 2) float32 smoothed landmarks in crop pixel coordinates; NaN where invalid
    <cache>/<clip_id>/valid.npy   (N,) bool, a usable face (track_shot's rules) in the frame
    <cache>/<clip_id>/mel.npy     (80, T) float32 audio.log_mel of the clip's own audio (100 columns/s,
                                   column j centred at j / 100 s of the clip's audio clock)
    <cache>/<clip_id>/speech.npy  (N,) bool audio.voice_activity of the clip's own audio at each frame centre
    <cache>/<clip_id>/mouths.npy  (N, 48, 64) uint8 grayscale mouth images (sync.mouth_images of crops)
    <cache>/<clip_id>/meta.json   {clip_id, source, speaker_id, split, fps "num/den", n_frames,
                                   appearance_only, av_offset_frames, av_offset_confidence (once
                                   measured), valid_frames, source_path, source_size, source_mtime,
                                   code_version}

Frame i (0-based, presentation order) is centred at (i + 0.5) / fps seconds. ``av_offset_frames`` is
null until the sync expert measures it; k means the sound of frame i is heard at frame i + k (audio lags
the picture by k frames; mouth-leads-sound clips have k > 0), so frame i's speech window is centred at
(i + k + 0.5) / fps. ``ClipData.mel_windows`` applies it. A clip is rebuilt only when its source size,
mtime or CODE_VERSION changes (measured offsets are kept). Every file is written to a temp name and os.replace()d into place, and
meta.json is written last, so a clip folder with meta.json is complete.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from lipsync_engine.audio import frame_mel_windows
from lipsync_engine.errors import InputError

CROP_SIZE = 192
CODE_VERSION = 2  # bump when the builder's output changes; cached clips of another version are rebuilt
ARRAYS = ("crops", "points", "valid", "mel", "speech", "mouths")


@dataclass(frozen=True)
class ClipData:
    """One cached clip; arrays are memory-mapped read-only."""

    clip_id: str
    meta: dict
    crops: np.ndarray  # (N, 192, 192, 3) uint8 RGB
    points: np.ndarray  # (N, 468, 2) float32 crop coords
    valid: np.ndarray  # (N,) bool
    mel: np.ndarray  # (80, T) float32
    speech: np.ndarray  # (N,) bool voice activity at each frame centre (a held-back part: its clip's)
    mouths: np.ndarray  # (N, 48, 64) uint8

    @property
    def fps(self) -> Fraction:
        return Fraction(self.meta["fps"])

    @property
    def n_frames(self) -> int:
        return int(self.meta["n_frames"])

    @property
    def speaker_id(self) -> str:
        return self.meta["speaker_id"]

    @property
    def av_offset(self) -> int:
        """Measured audio lag in frames (0 when not measured)."""
        return int(self.meta.get("av_offset_frames") or 0)

    def mel_windows(self, frames: np.ndarray | None = None, shift: int = 0, window: int = 20) -> np.ndarray:
        """Speech windows (len(frames), 80, window) float32 for video frames (default: all), corrected by
        the clip's av offset and moved ``shift`` frames later (shift > 0 pairs frame i with later audio)."""
        frames = np.arange(self.n_frames) if frames is None else np.asarray(frames)
        centres = (frames + self.av_offset + shift + 0.5) / float(self.fps)
        return frame_mel_windows(self.mel, centres, window)


    def speech_at(self, frames: np.ndarray | None = None) -> np.ndarray:
        """(len(frames),) bool voice activity heard with each video frame (av offset applied)."""
        frames = np.arange(self.n_frames) if frames is None else np.asarray(frames)
        return np.asarray(self.speech)[np.clip(frames + self.av_offset, 0, len(self.speech) - 1)]


def clip_dir(cache: str | Path, clip_id: str) -> Path:
    return Path(cache) / clip_id


def is_cached(cache: str | Path, clip_id: str, source_path: Path) -> bool:
    """True when the clip's cache is complete and was built from this exact source file by this code."""
    meta_path = clip_dir(cache, clip_id) / "meta.json"
    if not meta_path.is_file():
        return False
    meta = json.loads(meta_path.read_text())
    st = source_path.stat()
    return (meta.get("source_size") == st.st_size and meta.get("source_mtime") == st.st_mtime
            and meta.get("code_version") == CODE_VERSION)


def write_clip(cache: str | Path, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write one clip's arrays and then its meta.json, each atomically; returns the clip folder."""
    folder = clip_dir(cache, meta["clip_id"])
    folder.mkdir(parents=True, exist_ok=True)
    for name in ARRAYS:
        tmp = folder / f"{name}.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, arrays[name])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / f"{name}.npy")
    write_meta(cache, meta)
    return folder


def write_meta(cache: str | Path, meta: dict) -> None:
    """Atomically (re)write a clip's meta.json."""
    _write_json(clip_dir(cache, meta["clip_id"]) / "meta.json", meta)


def read_meta(cache: str | Path, clip_id: str) -> dict:
    path = clip_dir(cache, clip_id) / "meta.json"
    if not path.is_file():
        raise InputError(f"clip '{clip_id}' is not in the dataset cache '{cache}'; run `lipsync build-dataset`")
    return json.loads(path.read_text())


def cached_clip_ids(cache: str | Path) -> list[str]:
    """Clip ids listed in ``<cache>/index.json`` (empty when there is none)."""
    index_path = Path(cache) / "index.json"
    return sorted(json.loads(index_path.read_text())["clips"]) if index_path.is_file() else []


def write_index(cache: str | Path) -> dict:
    """Rebuild ``<cache>/index.json`` from every complete clip folder; returns the index."""
    clips = {}
    for meta_path in sorted(Path(cache).glob("*/meta.json")):
        meta = json.loads(meta_path.read_text())
        clips[meta["clip_id"]] = {k: meta[k] for k in (
            "split", "speaker_id", "source", "n_frames", "appearance_only", "av_offset_frames")}
    index = {"version": CODE_VERSION, "crop_size": CROP_SIZE, "clips": clips}
    _write_json(Path(cache) / "index.json", index)
    return index


def load_clip(cache: str | Path, clip_id: str) -> ClipData:
    """One cached clip with memory-mapped arrays."""
    meta = read_meta(cache, clip_id)
    if meta.get("code_version") != CODE_VERSION:
        raise InputError(f"clip '{clip_id}' in the cache '{cache}' was built by cache version "
                         f"{meta.get('code_version')}, this code reads version {CODE_VERSION}; "
                         "run `lipsync build-dataset` to update it")
    folder = clip_dir(cache, clip_id)
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
    return ClipData(clip_id=clip_id, meta=meta, **arrays)


def load_clips(cache: str | Path, split: str | None = None, *, sync_ready: bool = False) -> list[ClipData]:
    """Cached clips of ``split`` ("train", "val" or None for all), sorted by clip id.

    ``sync_ready`` keeps only clips whose audio belongs to the picture and is aligned: not
    appearance-only, and not an offset-suspect clip (edtalk_/styletalk_) whose offset is unmeasured.
    """
    from lipsync_engine.data.splits import OFFSET_SUSPECT_PREFIXES, SPLITS

    if split is not None and split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS} or None, got {split!r}")
    index_path = Path(cache) / "index.json"
    if not index_path.is_file():
        raise InputError(f"no dataset cache at '{cache}' (index.json missing); run `lipsync build-dataset`")
    index = json.loads(index_path.read_text())["clips"]
    chosen = []
    for clip_id, entry in sorted(index.items()):
        if split is not None and entry["split"] != split:
            continue
        if sync_ready and (entry["appearance_only"] or (
                clip_id.startswith(OFFSET_SUSPECT_PREFIXES) and entry["av_offset_frames"] is None)):
            continue
        chosen.append(load_clip(cache, clip_id))
    return chosen


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
