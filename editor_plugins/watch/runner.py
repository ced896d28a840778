"""``lipsync watch IN_DIR``: turn shot + dub pairs dropped into a folder into takes, through the daemon.

Folders under IN_DIR: ``processing/`` (taken, being rendered), ``out/`` (takes: ``shot.DE.mp4``), ``done/``
and ``failed/`` (sources after the job, with ``<file>.error.txt`` beside a failure). The folders are the
state: a restart resubmits what is in ``processing/`` under the same request ids (the daemon answers with
the job it already has, so nothing renders twice), never sees what is in ``done/`` again, and picks up
whatever new arrived in IN_DIR. A file is taken only once it stopped growing (stability.py). A watchdog
observer (``PollingObserver`` for network shares, where change events do not arrive) wakes the loop; a
periodic scan makes sure nothing is missed.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.client import FINAL, ClientError, LipsyncClient

from editor_plugins.watch.pairing import VIDEO_EXTENSIONS, PairSpec, find_pairs
from editor_plugins.watch.stability import StabilityTracker

EXTENSIONS = {"h264": ".mp4", "h265": ".mp4", "prores": ".mov", "ffv1": ".mkv"}
FATAL_CODES = ("UNAVAILABLE", "UNAUTHENTICATED", "DEADLINE_EXCEEDED")


@dataclass(frozen=True)
class WatchConfig:
    """How a folder is watched; built once by the CLI."""

    folder: Path
    settle_s: float = 5.0  # a file must keep its size and mtime this long before it is taken
    scan_s: float = 2.0  # the loop looks at least this often (the observer wakes it sooner)
    polling: bool = False  # PollingObserver: for SMB/NFS shares that send no change events
    settings: dict = field(default_factory=dict)  # render settings; a sidecar's settings override them


def request_id(pair: PairSpec) -> str:
    """Stable id of a pair's content (names, sizes, mtimes, language, sidecar): same files, same job."""
    parts = [pair.language]
    for path in pair.files:
        stat = path.stat()
        parts += [path.name, str(stat.st_size), str(stat.st_mtime_ns)]
    return "watch-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _free_name(folder: Path, name: str) -> Path:
    target, n = folder / name, 2
    while target.exists():
        stem, dot, suffix = name.partition(".")
        target, n = folder / f"{stem}-{n}{dot}{suffix}", n + 1
    return target


class WatchFolder:
    """The watch loop; ``step()`` does one pass, ``run(stop)`` loops until ``stop`` is set."""

    def __init__(self, config: WatchConfig, client: LipsyncClient, log: Callable[[str], None] = print) -> None:
        self.config, self.client, self.log = config, client, log
        self.root = config.folder.resolve()
        self.dirs = {name: self.root / name for name in ("processing", "out", "done", "failed")}
        for folder in self.dirs.values():
            folder.mkdir(exist_ok=True)
        self.stability = StabilityTracker(config.settle_s)
        self.jobs: dict[str, tuple[PairSpec, str]] = {}  # request id -> (pair in processing/, job id)
        self.wake = threading.Event()
        self._daemon_down = False

    # --- moving files --------------------------------------------------------------------------
    def _move(self, path: Path, folder: str) -> Path:
        target = path if path.parent == self.dirs[folder] else _free_name(self.dirs[folder], path.name)
        path.replace(target)
        self.stability.forget(path)
        return target

    def _fail_file(self, path: Path, message: str) -> None:
        moved = self._move(path, "failed")
        moved.with_name(moved.name + ".error.txt").write_text(message + "\n", encoding="utf-8")
        self.log(f"failed: {path.name}: {message}")

    # --- one pass --------------------------------------------------------------------------------
    def step(self) -> None:
        """Resume what is in processing/, take new stable pairs, finish jobs that ended."""
        try:
            self._resume()
            self._take_new()
            self._collect()
            if self._daemon_down:
                self.log("daemon reachable again")
            self._daemon_down = False
        except ClientError as exc:
            if exc.code not in FATAL_CODES:
                raise
            if not self._daemon_down:
                self.log(f"waiting for the daemon: {exc}")
            self._daemon_down = True

    def _submit(self, pair: PairSpec) -> None:
        rid = request_id(pair)
        ext = EXTENSIONS.get({**self.config.settings, **pair.settings}.get("codec", "h264"), ".mp4")
        output = self.dirs["out"] / f"{pair.video.stem}.{pair.language if pair.language != 'XX' else 'lipsync'}{ext}"
        manifest = {"schema": "lipsync.job/1", "request_id": rid, "video": str(pair.video), "audio": str(pair.audio),
                    "output": str(output), "settings": {**self.config.settings, **pair.settings},
                    "labels": {"watch_folder": str(self.root), "language": pair.language,
                               **{k: str(v) for k, v in pair.extra.get("labels", {}).items()}}}
        manifest.update({k: pair.extra[k] for k in ("actor_profile", "priority") if k in pair.extra})
        try:
            job = self.client.submit_manifest(manifest)
        except ClientError as exc:
            if exc.code in FATAL_CODES:
                raise
            self._finish(pair, None, f"{exc.code}: {exc}")
            return
        self.jobs[rid] = (pair, job.id)
        self.log(f"submitted {pair.video.name} + {pair.audio.name} ({pair.language}) as job {job.id}")

    def _resume(self) -> None:
        pairs, _ = find_pairs(self.dirs["processing"])
        tracked = {pair.audio for pair, _ in self.jobs.values()}
        for pair in pairs:
            if pair.audio not in tracked:
                self._submit(pair)
        paired_videos = {pair.video for pair in pairs}
        busy = paired_videos | {pair.video for pair, _ in self.jobs.values()}
        for video in self.dirs["processing"].iterdir():
            if video.suffix.lower() in VIDEO_EXTENSIONS and video not in busy:
                self._release_video(video)  # left over by a stop between finishing and moving

    def _take_new(self) -> None:
        pairs, problems = find_pairs(self.root, (self.dirs["processing"],))
        for path, message in problems:
            if path.exists() and self.stability.is_ready(path):
                self._fail_file(path, message)
        for pair in pairs:
            if not self.stability.all_ready(pair.files):
                continue
            moved = [self._move(path, "processing") for path in pair.files]
            sidecar = moved[2] if pair.sidecar else None
            self._submit(PairSpec(moved[0], moved[1], pair.language, sidecar, pair.settings, pair.extra))

    def _collect(self) -> None:
        for rid, (pair, job_id) in list(self.jobs.items()):
            job = self.client.get(job_id)
            if job.state not in FINAL:
                continue
            del self.jobs[rid]
            error = None if job.state == pb.SUCCEEDED else (
                f"{job.error.code_name or pb.JobState.Name(job.state)}: {job.error.message or 'no message'}")
            self._finish(pair, job, error)

    def _finish(self, pair: PairSpec, job: pb.Job | None, error: str | None) -> None:
        """Move the pair's dub (and sidecar) to done/ or failed/; the shot follows once all its dubs are done."""
        for path in (pair.audio, pair.sidecar):
            if path is None:
                continue
            if error:
                self._fail_file(path, error)
            else:
                self._move(path, "done")
        if job is not None and not error:
            self.log(f"done: {pair.video.name} ({pair.language}) -> {job.result.output_path}")
        pending, _ = find_pairs(self.dirs["processing"])
        if not any(p.video == pair.video for p in pending):
            self._release_video(pair.video)

    def _release_video(self, video: Path) -> None:
        stem = video.name[: -len(video.suffix)]
        succeeded = any(p.name.startswith(stem + ".") for p in self.dirs["out"].iterdir())
        if succeeded:
            self._move(video, "done")
        else:
            self._fail_file(video, "no take of this shot succeeded; see the .error.txt files of its dubs")

    # --- the loop ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Watch until ``stop`` is set (Ctrl-C in the CLI)."""
        observer = PollingObserver(timeout=self.config.scan_s) if self.config.polling else Observer()
        handler = FileSystemEventHandler()
        handler.on_any_event = lambda event: self.wake.set()
        observer.schedule(handler, str(self.root), recursive=False)
        observer.start()
        self.log(f"watching {self.root} ({'polling' if self.config.polling else 'events'}); "
                 f"takes go to {self.dirs['out']}")
        try:
            while not stop.is_set():
                self.step()
                self.wake.wait(self.config.scan_s)
                self.wake.clear()
        finally:
            observer.stop()
            observer.join()
