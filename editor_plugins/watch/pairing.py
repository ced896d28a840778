"""Which files in a watch folder form a job: a shot plus a dub, by name or by sidecar.

Naming convention: ``shot.mov`` + ``shot.de.wav`` (the token between the shot's name and the audio
extension is the language; ``shot.wav`` alone means language "XX"). A sidecar ``shot.lipsync.json`` can name
the audio explicitly and carry options; it is a partial ``lipsync.job/1`` manifest (docs/inbox.md; the language
may also come as ``labels.language``):
``{"audio": "dub_take3.wav", "language": "DE", "settings": {"codec": "prores"}, "actor_profile": "/abs/a.npz",
"priority": 0}``; relative paths are relative to the watch folder.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

VIDEO_EXTENSIONS = (".mov", ".mp4", ".mkv", ".mxf", ".avi", ".m4v")
AUDIO_EXTENSIONS = (".wav", ".aif", ".aiff", ".flac", ".mp3", ".aac", ".m4a", ".ogg", ".opus", ".w64")
SIDECAR_SUFFIX = ".lipsync.json"
IGNORED_SUFFIXES = (".part", ".inprogress", ".tmp", ".crdownload", ".partial")
SIDECAR_KEYS = {"audio", "language", "settings", "actor_profile", "priority", "labels"}


class SidecarError(ValueError):
    """A sidecar file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class PairSpec:
    """One job of the watch folder: the files it consists of and what to ask the daemon for."""

    video: Path
    audio: Path
    language: str  # upper case, e.g. "DE"
    sidecar: Path | None = None
    settings: dict = field(default_factory=dict, hash=False, compare=False)
    extra: dict = field(default_factory=dict, hash=False, compare=False)  # actor_profile, priority, labels

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file of the job (the sidecar included)."""
        return (self.video, self.audio) + ((self.sidecar,) if self.sidecar else ())


def is_candidate(path: Path) -> bool:
    """False for temp/partial names and dotfiles, which writers rename when they finish."""
    name = path.name
    return path.is_file() and not name.startswith(".") and not name.lower().endswith(IGNORED_SUFFIXES)


def read_sidecar(path: Path, folder: Path) -> dict:
    """The sidecar's keys, with ``audio`` resolved against ``folder``; SidecarError when unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"sidecar '{path.name}' is not readable JSON ({exc}); fix it and drop it again") from exc
    if not isinstance(data, dict) or "audio" not in data:
        raise SidecarError(f"sidecar '{path.name}' must be an object with at least \"audio\": \"file.wav\"")
    unknown = set(data) - SIDECAR_KEYS - {"schema"}
    if unknown:
        raise SidecarError(f"sidecar '{path.name}' has unknown keys {sorted(unknown)}; allowed: {sorted(SIDECAR_KEYS)}")
    data["audio"] = folder / data["audio"]
    return data


def _videos(folder: Path) -> dict[str, Path]:
    return {p.name[: -len(p.suffix)]: p for p in sorted(folder.iterdir())
            if is_candidate(p) and p.suffix.lower() in VIDEO_EXTENSIONS}


def find_pairs(folder: Path, video_dirs: tuple[Path, ...] = ()) -> tuple[list[PairSpec], list[tuple[Path, str]]]:
    """(jobs, problems) among the files directly in ``folder``; problems are (file, message).

    Audio and sidecars in ``folder`` may also pair with a video in one of ``video_dirs`` (a shot already
    being processed for another language).
    """
    files = sorted(p for p in folder.iterdir() if is_candidate(p))
    videos: dict[str, Path] = {}
    for other in video_dirs:
        videos.update(_videos(other) if other.is_dir() else {})
    videos.update(_videos(folder))
    pairs: list[PairSpec] = []
    problems: list[tuple[Path, str]] = []
    claimed: set[Path] = set()
    for sidecar in (p for p in files if p.name.endswith(SIDECAR_SUFFIX)):
        stem = sidecar.name[: -len(SIDECAR_SUFFIX)]
        if stem not in videos:
            problems.append((sidecar, f"sidecar '{sidecar.name}' has no video '{stem}.mov' "
                                      f"(or .mp4/.mkv/.mxf) beside it"))
            continue
        try:
            data = read_sidecar(sidecar, folder)
        except SidecarError as exc:
            problems.append((sidecar, str(exc)))
            continue
        if not data["audio"].is_file():
            continue  # the audio may still be on its way; the sidecar waits for it
        claimed.add(data["audio"])
        language = data.get("language") or (data.get("labels") or {}).get("language") or "XX"
        pairs.append(PairSpec(videos[stem], data["audio"], str(language).upper(), sidecar,
                              dict(data.get("settings") or {}),
                              {k: data[k] for k in ("actor_profile", "priority", "labels") if k in data}))
    for audio in (p for p in files if p.suffix.lower() in AUDIO_EXTENSIONS and p not in claimed):
        stem, _, language = audio.name[: -len(audio.suffix)].rpartition(".")
        stem, language = (stem, language) if stem in videos else (language, "XX")
        if stem in videos and not (folder / (stem + SIDECAR_SUFFIX)).exists():
            pairs.append(PairSpec(videos[stem], audio, language.upper()))
    return pairs, problems
