"""Render a batch of takes through the daemon: submit each clip's range idempotently, follow, report.

Shared by ``lipsync render-takes`` (the Resolve script's road), ``lipsync otio`` and nothing else: the
watch folder submits whole files. A take is a range of a shot plus a stretch of a dub; the job names both
(``video_range``, ``audio_offset_s``), so the daemon decodes the shot from the range's first frame and no
intermediate file is written. The dub must cover the clip: takes are rendered with the ``strict`` audio
policy unless the settings say otherwise. Each result is a dict shaped like the inbox's result document:
``request_id, state, job_id, output, report, error``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.client import ClientError, LipsyncClient
from lipsync_engine.errors import AudioError, InputError, MediaError
from lipsync_engine.media.opening import open_media

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


def video_rate(path: Path) -> Fraction:
    """Nominal frame rate of the first video stream from its header, exact (e.g. 24000/1001)."""
    with open_media(path, MediaError, "video") as container:
        if not container.streams.video:
            raise MediaError(f"'{path}' has no video stream; pass the shot's video file")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise MediaError(f"'{path}' does not state a frame rate; re-wrap it as .mov or .mkv")
        return Fraction(rate)


def _frames(request: TakeRequest) -> tuple[int, int]:
    """(first frame, frame count) of the clip in its media, from frames or from seconds at the file's rate."""
    if request.video_range is not None:
        start, end = request.video_range
    else:
        rate = video_rate(request.video)
        start_s, duration_s = request.source_seconds or (0.0, 0.0)
        start = round(start_s * rate)
        end = start + round(duration_s * rate)
    if not 0 <= start < end:
        raise MediaError(f"source range {start}-{end} of '{request.video}' is empty or negative; the clip needs frames")
    return start, end - start


def _manifest(request: TakeRequest) -> dict:
    """The daemon job of ``request``: a lipsync.job/1 manifest naming the clip's frames and dub offset, with a
    digest of it in its id."""
    first, count = _frames(request)
    if request.audio_start_s < 0:
        raise AudioError(f"the clip starts {-request.audio_start_s:.3f} s before the dub '{request.audio}' begins; "
                         f"move the dub earlier or trim the clip")
    manifest = {"schema": "lipsync.job/1", "video": str(request.video), "audio": str(request.audio),
                "video_range": {"first_frame": first, "frame_count": count}, "audio_offset_s": request.audio_start_s,
                "output": str(request.output), "settings": {"audio_policy": "strict", **request.settings},
                "labels": {k: str(v) for k, v in request.labels.items()}}
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
            manifest = _manifest(request)
            request.output.parent.mkdir(parents=True, exist_ok=True)  # the daemon writes into an existing folder
            submitted.append((request, client.submit_manifest(manifest), None))
            continue
        except InputError as exc:
            refused = _result(request, None, ("INVALID_ARGUMENT", str(exc)))
        except OSError as exc:
            refused = _result(request, None, ("FAILED_PRECONDITION", f"cannot create the take folder "
                                              f"'{request.output.parent}' ({exc.strerror or exc}); check the output "
                                              f"folder setting"))
        except ClientError as exc:
            if exc.code in ("UNAVAILABLE", "UNAUTHENTICATED", "DEADLINE_EXCEEDED"):
                raise
            refused = _result(request, None, (exc.code, str(exc)))
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
        on_event(result)
        results.append(result)
    return results
