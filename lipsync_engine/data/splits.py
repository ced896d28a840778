"""Speaker split of the development data: which speakers are held out for validation, and where clips live.

The split is by speaker, never by clip: a speaker is either in VALIDATION_SPEAKERS or in training, on
every source. ``../shared/data/grid_s1`` (7.5 min of GRID speaker s1) is training data; the one GRID s1
sentence in ``clips/`` (``grid_bbaf2n``) is the same speaker and so is training too. Clips under
``unverified/`` have audio that may not belong to the speech shown: they are kept for appearance only
(``appearance_only=True``) and never used for sync losses or sync metrics.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from lipsync_engine.errors import InputError

# Held-out speakers, spread over the sources: GRID studio, VoxCeleb2 crops, broadcast/HDTF-style footage.
VALIDATION_SPEAKERS = frozenset({
    "grid_s2",  # GRID speaker 2 (clips/grid_pwij3p, clips/grid_s2_swwp2s)
    "vox_7414",  # VoxCeleb2 crop, two clips (pcavs_audio_741400104, pcavs_pose_741400163)
    "vox_00098",  # VoxCeleb2 crop (pcavs_input_00098)
    "aoc",  # broadcast + HDTF-style (retalking_face3, sadtalker_WDA_AOC)
    "vr5_woman_glasses",  # broadcast interview, glasses (retalking_face5)
})
SPLITS = ("train", "val")
# Clip name prefixes whose audio may lead or lag the picture (design.md): the sync expert measures
# their offset before they are used for sync losses.
OFFSET_SUSPECT_PREFIXES = ("edtalk_", "styletalk_")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".mpg", ".webm", ".mxf")


@dataclass(frozen=True)
class ClipSource:
    """One source video of the dataset."""

    clip_id: str  # unique name of the clip in the cache, e.g. "pcavs_input_00098", "grid_s1_bbaf2n"
    path: Path  # the video file (with its own audio)
    source: str  # "clips", "grid_s1", "unverified" or "user"
    speaker_id: str
    appearance_only: bool  # audio may not belong to the picture: never used for sync

    @property
    def split(self) -> str:
        return split_of(self.speaker_id)

    @property
    def offset_suspect(self) -> bool:
        return self.clip_id.startswith(OFFSET_SUSPECT_PREFIXES)


def split_of(speaker_id: str) -> str:
    """"val" for a held-out speaker, "train" for every other speaker."""
    return "val" if speaker_id in VALIDATION_SPEAKERS else "train"


def shared_data_sources(data_root: str | Path) -> list[ClipSource]:
    """Every clip of ``../shared/data`` (clips/, grid_s1/, unverified/) from their MANIFEST.csv files."""
    root = Path(data_root)
    if not (root / "clips" / "MANIFEST.csv").is_file():
        raise InputError(f"'{root}' has no clips/MANIFEST.csv; pass the shared data folder (../shared/data)")
    found = [
        ClipSource(Path(r["file"]).stem, root / "clips" / r["file"], "clips", r["speaker_id"], False)
        for r in _manifest(root / "clips" / "MANIFEST.csv")
    ]
    if (root / "grid_s1" / "MANIFEST.csv").is_file():
        found += [
            ClipSource("grid_s1_" + Path(r["file"]).stem, root / "grid_s1" / r["file"], "grid_s1", r["speaker_id"], False)
            for r in _manifest(root / "grid_s1" / "MANIFEST.csv")
        ]
    if (root / "unverified" / "MANIFEST.csv").is_file():
        found += [
            ClipSource(Path(r["file"]).stem, root / "unverified" / r["file"], "unverified", r["speaker_id"], True)
            for r in _manifest(root / "unverified" / "MANIFEST.csv")
        ]
    return found


def folder_sources(folder: str | Path, speaker_id: str | None = None, appearance_only: bool = False) -> list[ClipSource]:
    """The user's own footage: every video under ``folder``.

    Each video's speaker is ``speaker_id`` when given, else the name of the folder holding it (so
    ``footage/<speaker>/<take>.mp4`` splits correctly). Clip ids are prefixed ``user_``.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"footage folder not found: '{root}'; pass a folder of video files")
    videos = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not videos:
        raise InputError(f"'{root}' holds no video files ({', '.join(VIDEO_SUFFIXES)})")
    return [
        ClipSource(
            "user_" + "_".join(p.relative_to(root).with_suffix("").parts),
            p, "user", speaker_id or p.parent.name, appearance_only,
        )
        for p in videos
    ]


def _manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"file", "speaker_id"} - set(rows[0] if rows else {})
    if missing:
        raise InputError(f"'{path}' lacks column(s) {sorted(missing)}; a manifest needs file and speaker_id")
    return rows
