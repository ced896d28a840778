"""``lipsync otio``: a timeline in, the same timeline plus one ``LipSync XX`` take track per language out."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable

import opentimelineio as otio

from lipsync_daemon.client import LipsyncClient
from lipsync_engine.errors import OutputError

from editor_plugins.otio.reader import ClipTake, TimelineError, plan_takes, read_timeline
from editor_plugins.otio.writer import add_take_tracks
from editor_plugins.take_batch import TakeRequest, render_takes


def take_request(take: ClipTake, timeline_name: str, output_dir: Path, settings: dict) -> TakeRequest:
    """The render request of one clip and language; its id is a digest of what decides the take."""
    key = hashlib.sha256("|".join(map(str, (take.video, round(take.source_start_s, 6), round(take.duration_s, 6),
                                             take.audio, round(take.audio_start_s, 6), take.language))).encode())
    key = key.hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(take.clip.name or take.video.name).stem) or "clip"
    ext = ".mkv" if settings.get("codec") == "ffv1" else ".mov"
    output = output_dir / take.language / f"{stem}_{take.language}_{key}{ext}"
    return TakeRequest(f"otio-{key}", take.video, take.audio, output, take.audio_start_s,
                       source_seconds=(take.source_start_s, take.duration_s), settings=settings,
                       labels={"timeline": timeline_name, "clip": take.clip.name, "language": take.language})


def write_timeline(timeline: otio.schema.Timeline, out: Path) -> None:
    """Write with the adapter of ``out``'s suffix, atomically (temp beside it, fsync, rename)."""
    tmp = out.with_name(f".{out.stem}.part{out.suffix}")
    try:
        otio.adapters.write_to_file(timeline, str(tmp))
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        raise OutputError(f"cannot write the timeline '{out}' ({exc}); check the folder and free space") from exc
    finally:
        tmp.unlink(missing_ok=True)


def convert(source: Path, out: Path, client: LipsyncClient, output_dir: Path, *, languages: tuple[str, ...] = (),
            settings: dict | None = None, log: Callable[[str], None] = print) -> list[str]:
    """Render every covered clip and write ``out``; returns the problems (skipped or failed takes)."""
    timeline = read_timeline(source)
    takes, problems = plan_takes(timeline, source.parent)
    if languages:
        wanted = {language.upper() for language in languages}
        takes = [t for t in takes if t.language in wanted]
    if not takes:
        raise TimelineError(f"nothing to render in '{source}': " + ("; ".join(problems) or "no video clip is "
                            "covered by a dub track of the languages asked for"))
    log(f"{len(takes)} take(s) to render: " + ", ".join(sorted({t.language for t in takes})))
    requests = [take_request(t, timeline.name, output_dir.resolve(), dict(settings or {})) for t in takes]

    def show(event: dict) -> None:
        if event["event"] == "result":
            detail = (event.get("error") or {}).get("message") or event["output"]
            log(f"  {event['state']}: {event['request_id']} {detail}")
        elif event.get("frames_total"):
            log(f"  {event['request_id']}: {event['stage']} {event['frames_done']}/{event['frames_total']}")

    results = render_takes(client, requests, show)
    new_timeline, failed = add_take_tracks(timeline, takes, results)
    write_timeline(new_timeline, out)
    log(f"wrote {out}")
    return problems + failed
