"""`lipsync submit / watch-job / fetch / cancel / jobs / server-info`: talk to a running daemon.

All go through lipsync_daemon.client.LipsyncClient. The daemon is found through --daemon, else
$LIPSYNC_DAEMON, else <data-dir>/daemon.json; the token through --token, $LIPSYNC_TOKEN or
<data-dir>/token; a TCP daemon listening with TLS through --tls-ca or $LIPSYNC_TLS_CA. Exit codes: 0 success,
1 the job ended FAILED or CANCELLED, 2 a call failed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STATES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")


def register(subparsers: argparse._SubParsersAction) -> None:
    submit = subparsers.add_parser("submit", help="queue a render on the daemon",
                                   description="Queue a render of a shot + dub on the lip-sync daemon.")
    submit.add_argument("video", help="the shot: a path under the daemon's allowed roots (or local with --upload)")
    submit.add_argument("audio", help="the dub speech")
    submit.add_argument("--out", help="where the daemon writes the take (under an allowed root); "
                                      "default: the daemon's outputs folder (get it with `lipsync fetch`)")
    submit.add_argument("--upload", action="store_true", help="send the files to the daemon instead of naming paths")
    submit.add_argument("--codec", choices=("h264", "h265", "prores", "ffv1"))
    submit.add_argument("--quality", type=int)
    submit.add_argument("--audio-policy", choices=("fit_video", "strict"))
    submit.add_argument("--keep-original-audio", action="store_true")
    submit.add_argument("--silence", choices=("close", "keep_original"))
    submit.add_argument("--actor", help="actor profile file (from `lipsync adapt`)")
    submit.add_argument("--video-range", nargs=2, type=int, metavar=("FIRST", "COUNT"),
                        help="render only COUNT frames of the shot from frame FIRST (0-based)")
    submit.add_argument("--audio-offset", type=float, metavar="SECONDS",
                        help="the dub is a longer track: the take starts this many seconds into it")
    submit.add_argument("--priority", type=int, default=0, help="higher runs first")
    submit.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="tag the job (repeatable)")
    submit.add_argument("--request-id", help="idempotency key: submitting again with it returns the same job")
    submit.add_argument("--wait", action="store_true", help="show progress until the job ends")
    submit.set_defaults(handler=_submit)

    watch = subparsers.add_parser("watch-job", help="show a job's progress until it ends")
    watch.add_argument("job", help="job id")
    watch.set_defaults(handler=_watch)

    fetch = subparsers.add_parser("fetch", help="download a finished job's take (checksum verified)")
    fetch.add_argument("job", help="job id")
    fetch.add_argument("dest", help="local file to write (atomically)")
    fetch.set_defaults(handler=_fetch)

    cancel = subparsers.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job", help="job id")
    cancel.set_defaults(handler=_cancel)

    jobs = subparsers.add_parser("jobs", help="list the daemon's jobs, newest first")
    jobs.add_argument("--state", action="append", choices=STATES, default=[], help="only these states (repeatable)")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--json", action="store_true", help="one JSON object per line")
    jobs.set_defaults(handler=_jobs)

    info = subparsers.add_parser("server-info", help="the daemon's version, model, device and limits")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_server_info)

    for parser in (submit, watch, fetch, cancel, jobs, info):
        add_daemon_arguments(parser)


def add_daemon_arguments(parser: argparse.ArgumentParser) -> None:
    """--daemon, --token, --tls-ca, --data-dir: how a command reaches the daemon (see daemon_client)."""
    parser.add_argument("--daemon", help="'unix:/path.sock' or 'host:port' (default: the local daemon)")
    parser.add_argument("--token", help="the daemon's token (default: read from its data folder)")
    parser.add_argument("--tls-ca", type=Path, help="PEM certificate of the CA that signed the daemon's tls_cert: "
                                                    "reach a TCP daemon over TLS (default: $LIPSYNC_TLS_CA)")
    parser.add_argument("--data-dir", type=Path, help="the daemon's data folder (default: ~/.local/share/lipsync)")


def daemon_client(args: argparse.Namespace):
    """The LipsyncClient the add_daemon_arguments flags name."""
    from lipsync_daemon.client import LipsyncClient

    return LipsyncClient(args.daemon, args.token, data_dir=args.data_dir, tls_ca=args.tls_ca)


def _as_dict(message) -> dict:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True)


def _describe(job) -> str:
    from lipsync_daemon._proto import lipsync_pb2 as pb

    state = pb.JobState.Name(job.state)
    p = job.progress
    text = f"{job.id}  {state:<9}  {p.stage:<9} {p.frames_done}/{p.frames_total}"
    if job.result.output_path:
        text += f"  {job.result.output_path}"
    if job.error.code_name:
        text += f"  {job.error.code_name}: {job.error.message}"
    return text


def _submit(args: argparse.Namespace) -> int:
    settings = {k: v for k, v in (("codec", args.codec), ("quality", args.quality), ("audio_policy", args.audio_policy),
                                  ("silence", args.silence)) if v is not None}
    if args.keep_original_audio:
        settings["keep_original_audio"] = True
    labels = dict(item.split("=", 1) for item in args.label if "=" in item)
    with daemon_client(args) as client:
        video, audio = args.video, args.audio
        if args.upload:
            video, audio = (f"blob:{client.upload(p).id}" for p in (args.video, args.audio))
        job = client.submit(video, audio, args.out, settings=settings, actor=args.actor, priority=args.priority,
                            labels=labels, request_id=args.request_id, video_range=args.video_range,
                            audio_offset_s=args.audio_offset)
        print(job.id)
        return _follow(client, job.id) if args.wait else 0


def _follow(client, job_id: str) -> int:
    """Show a progress bar per stage until the job ends; 0 if it SUCCEEDED, else 1."""
    from tqdm import tqdm

    from lipsync_daemon._proto import lipsync_pb2 as pb

    bar, stage, shown = None, None, set()
    job = None
    try:
        for job in client.watch(job_id):
            p = job.progress
            if p.stage != stage and p.frames_total:
                if bar is not None:
                    bar.close()
                stage = p.stage
                bar = tqdm(total=p.frames_total, desc=p.stage, unit="frame", file=sys.stderr)
            if bar is not None and p.stage == stage:
                bar.n = min(p.frames_done, bar.total)
                bar.set_postfix_str(f"{p.fps:.1f} fps" + (f", ETA {p.eta_seconds:.0f}s" if p.eta_seconds >= 0 else ""))
                bar.refresh()
            for warning in p.warnings:
                if warning not in shown:
                    shown.add(warning)
                    (bar.write if bar else print)(f"warning: {warning}")
    finally:
        if bar is not None:
            bar.close()
    print(_describe(job))
    return 0 if job.state == pb.SUCCEEDED else 1


def _watch(args: argparse.Namespace) -> int:
    with daemon_client(args) as client:
        return _follow(client, args.job)


def _fetch(args: argparse.Namespace) -> int:
    with daemon_client(args) as client:
        path = client.download(args.dest, job_id=args.job)
    print(path)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with daemon_client(args) as client:
        print(_describe(client.cancel(args.job)))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    with daemon_client(args) as client:
        for job in client.list(tuple(args.state), args.limit):
            print(json.dumps(_as_dict(job)) if args.json else _describe(job))
    return 0


def _server_info(args: argparse.Namespace) -> int:
    with daemon_client(args) as client:
        info = _as_dict(client.server_info())
        info["health"] = client.health()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return 0
