"""Render a batch of takes through the daemon: cut each clip's ranges, submit idempotently, follow, report.

Shared by ``lipsync render-takes`` (the Resolve script's road), ``lipsync otio`` and nothing else: the
watch folder submits whole files. A take is a range of a shot plus a stretch of a dub; the daemon renders
whole files, so the ranges are cut losslessly next to the take's output (``.lipsync_cuts/``, under the
same allowed root) and removed once the job is final. Each result is a dict shaped like the inbox's result
document: ``request_id, state, job_id, output, report, error``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.client import ClientError, LipsyncClient
from lipsync_engine.errors import InputError

from editor_plugins.segments import cut_audio, cut_video, video_rate

BATCH_SCHEMA = "lipsync.take_batch/1"
Event = Callable[[dict], None]


@dataclass(frozen=True)
class TakeRequest:
    """One take: frames [start, end) of ``video`` (None: from the seconds) with the dub from ``audio_start_s``."""

    request_id: str  # the caller's stable id; the daemon's id adds a digest of the whole request
    video: Path
    audio: Path
    output: Path
    audio_start_s: float = 0.0
    video_range: tuple[int, int] | None = None  # frames at the file's own rate, end exclusive
    source_seconds: tuple[float, float] | None = None  # (start, duration) when frames are not known
    settings: dict = field(default_factory=dict, compare=False)
    labels: dict = field(default_factory=dict, compare=False)


def read_batch(path: Path) -> list[TakeRequest]:
    """The requests of a ``lipsync.take_batch/1`` file (written by the Resolve script); InputError if bad."""
    try:
        batch = json.loads(path.read_text(encoding="utf-8"))
        if batch.get("schema") != BATCH_SCHEMA:
            raise ValueError(f"schema is {batch.get('schema')!r}, expected {BATCH_SCHEMA!r}")
        return [TakeRequest(t["request_id"], Path(t["video"]), Path(t["audio"]), Path(t["output"]),
                            float(t.get("audio_start_s", 0.0)),
                            tuple(t["video_range"]) if t.get("video_range") else None,
                            settings=dict(batch.get("settings") or {}), labels=dict(t.get("labels") or {}))
                for t in batch["takes"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"take batch '{path}' is unusable ({exc}); the Resolve script writes it: run it again"
                         ) from exc


def _cut_paths(request: TakeRequest) -> tuple[Path, Path]:
    cuts = request.output.parent / ".lipsync_cuts"
    return cuts / f"{request.request_id}.mkv", cuts / f"{request.request_id}.wav"


def _remove_cuts(request: TakeRequest) -> None:
    for cut in _cut_paths(request):
        cut.unlink(missing_ok=True)


def _manifest(request: TakeRequest) -> dict:
    """The daemon job of ``request``: cut inputs, then a lipsync.job/1 manifest with a digest in its id."""
    rate = video_rate(request.video)
    if request.video_range is not None:
        start, end = request.video_range
    else:
        start_s, duration_s = request.source_seconds or (0.0, 0.0)
        start = round(start_s * rate)
        end = start + round(duration_s * rate)
    video_cut, audio_cut = _cut_paths(request)
    video = cut_video(request.video, start, end, video_cut)
    audio = cut_audio(request.audio, request.audio_start_s, float((end - start) / rate), audio_cut)
    manifest = {"schema": "lipsync.job/1", "video": str(video), "audio": str(audio), "output": str(request.output),
                "settings": dict(request.settings), "labels": {k: str(v) for k, v in request.labels.items()}}
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:10]
    manifest["request_id"] = f"{request.request_id}-{digest}"
    return manifest


def _result(request: TakeRequest, job: pb.Job | None, error: tuple[str, str] | None = None) -> dict:
    document = {"event": "result", "request_id": request.request_id, "state": "FAILED", "job_id": None,
                "output": None, "report": None, "error": None}
    if job is not None:
        document.update(state=pb.JobState.Name(job.state), job_id=job.id)
        if job.state == pb.SUCCEEDED:
            document.update(output=job.result.output_path, report=json.loads(job.result.report_json or "{}"))
        elif job.error.code_name or job.error.message:
            error = (job.error.code_name, job.error.message)
    if error:
        document["error"] = {"code": error[0], "message": error[1]}
    return document


def render_takes(client: LipsyncClient, requests: list[TakeRequest], on_event: Event = lambda e: None) -> list[dict]:
    """One result per request, in order; ``on_event`` gets progress and result events as they happen.

    A take whose inputs are unusable (missing media, dub shorter than the clip) fails alone; a daemon
    that cannot be reached raises ClientError for the whole batch.
    """
    submitted: list[tuple[TakeRequest, pb.Job | None, dict | None]] = []
    for request in requests:
        try:
            submitted.append((request, client.submit_manifest(_manifest(request)), None))
            continue
        except InputError as exc:
            refused = _result(request, None, ("INVALID_ARGUMENT", str(exc)))
        except ClientError as exc:
            _remove_cuts(request)
            if exc.code in ("UNAVAILABLE", "UNAUTHENTICATED", "DEADLINE_EXCEEDED"):
                raise
            refused = _result(request, None, (exc.code, str(exc)))
        _remove_cuts(request)
        submitted.append((request, None, refused))
        on_event(refused)
    results = []
    for request, job, refused in submitted:
        if refused is not None:
            results.append(refused)
            continue
        for job in client.watch(job.id):
            on_event({"event": "progress", "request_id": request.request_id, "state": pb.JobState.Name(job.state),
                      "stage": job.progress.stage, "frames_done": job.progress.frames_done,
                      "frames_total": job.progress.frames_total})
        result = _result(request, job)
        _remove_cuts(request)
        on_event(result)
        results.append(result)
    return results
