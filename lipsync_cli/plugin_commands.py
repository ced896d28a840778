"""`lipsync otio / watch / render-takes / resolve-install`: the editor integrations (docs/editor_plugins.md).

The daemon is found like the other daemon commands: --daemon, else $LIPSYNC_DAEMON, else the local one;
the token through --token, $LIPSYNC_TOKEN or <data-dir>/token; TLS through --tls-ca. Exit codes: 0 all takes
done, 1 some takes failed or were skipped (the rest were written), 2 nothing could be done (message on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from lipsync_cli.daemon_commands import add_daemon_arguments, daemon_client

CODECS = ("h264", "h265", "prores", "ffv1")


def register(subparsers: argparse._SubParsersAction) -> None:
    otio_cmd = subparsers.add_parser("otio", help="render the dub tracks of an OTIO timeline as LipSync take tracks",
                                     description="Video clips covered by an audio track named 'Dub XX' (or with "
                                     "metadata lipsync.language) get a take per language on a new 'LipSync XX' track.")
    otio_cmd.add_argument("timeline", type=Path, help=".otio (or any format an installed OTIO adapter reads)")
    otio_cmd.add_argument("--out", type=Path, required=True, help="the timeline to write (format from its suffix)")
    otio_cmd.add_argument("--output-dir", type=Path, help="where the takes go, under the daemon's allowed roots "
                          "(default: a 'lipsync_takes' folder beside --out)")
    otio_cmd.add_argument("--language", action="append", default=[], help="only this language (repeatable)")
    otio_cmd.set_defaults(handler=_otio)

    watch = subparsers.add_parser("watch", help="render shot + dub pairs dropped into a folder",
                                  description="shot.mov + shot.de.wav (or a shot.lipsync.json sidecar) become "
                                  "out/shot.DE.mp4; sources move to done/ or failed/.")
    watch.add_argument("folder", type=Path, help="the watch folder (under the daemon's allowed roots)")
    watch.add_argument("--polling", action="store_true", help="poll instead of change events (SMB/NFS shares)")
    watch.add_argument("--settle", type=float, default=5.0, help="seconds a file must stop growing (default 5)")
    watch.add_argument("--once", action="store_true", help="one pass: take what is ready, wait for those jobs, exit")
    watch.set_defaults(handler=_watch)

    takes = subparsers.add_parser("render-takes", help="render a take batch written by the Resolve script "
                                  "(JSON events on stdout)")
    takes.add_argument("batch", type=Path, help="a lipsync.take_batch/1 JSON file")
    takes.set_defaults(handler=_render_takes)

    install = subparsers.add_parser("resolve-install", help="install the LipSync menu scripts into DaVinci Resolve")
    install.add_argument("--dry-run", action="store_true", help="only print what would be written")
    install.add_argument("--all-users", action="store_true", help="the all-users Scripts folder (needs admin rights)")
    install.add_argument("--scripts-dir", type=Path, help="install here instead of Resolve's Scripts/Utility folder")
    install.add_argument("--output-dir", type=Path, default=Path.home() / "LipSyncTakes",
                         help="default folder of the takes, written to LipSync.json (default ~/LipSyncTakes)")
    install.set_defaults(handler=_resolve_install)

    for parser in (otio_cmd, watch):
        parser.add_argument("--codec", choices=CODECS, help="codec of the takes (default: the engine's)")
    for parser in (otio_cmd, watch, takes):
        add_daemon_arguments(parser)


def _settings(args: argparse.Namespace) -> dict:
    return {"codec": args.codec} if args.codec else {}


def _otio(args: argparse.Namespace) -> int:
    from editor_plugins.otio.convert import convert

    output_dir = args.output_dir or args.out.resolve().parent / "lipsync_takes"
    with daemon_client(args) as client:
        problems = convert(args.timeline, args.out, client, output_dir, languages=tuple(args.language),
                           settings=_settings(args))
    for problem in problems:
        print(f"lipsync: skipped: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _watch(args: argparse.Namespace) -> int:
    from editor_plugins.watch.runner import WatchConfig, WatchFolder

    if not args.folder.is_dir():
        from lipsync_engine.errors import InputError
        raise InputError(f"watch folder '{args.folder}' does not exist; create it or pass another folder")
    config = WatchConfig(args.folder, settle_s=args.settle, polling=args.polling, settings=_settings(args))
    with daemon_client(args) as client:
        folder = WatchFolder(config, client, log=lambda line: print(line, flush=True))
        if args.once:  # one pass, then wait for what it submitted
            folder.step()
            while folder.jobs:
                time.sleep(config.scan_s)
                folder.step()
            return 0
        stop = threading.Event()
        try:
            folder.run(stop)
        except KeyboardInterrupt:
            stop.set()
            print("stopped; files being rendered stay in processing/ and are resumed next time", file=sys.stderr)
    return 0


def _render_takes(args: argparse.Namespace) -> int:
    from editor_plugins.take_batch import read_batch, render_takes

    requests = read_batch(args.batch)

    def emit(event: dict) -> None:
        print(json.dumps(event), flush=True)

    with daemon_client(args) as client:
        results = render_takes(client, requests, emit)
    return 0 if all(r["state"] == "SUCCEEDED" for r in results) else 1


def _resolve_install(args: argparse.Namespace) -> int:
    from editor_plugins.resolve_install import install, scripts_dir

    target = args.scripts_dir or scripts_dir(all_users=args.all_users)
    written = install(target, args.output_dir, dry_run=args.dry_run)
    verb = "would write" if args.dry_run else "wrote"
    for path in written:
        print(f"{verb} {path}")
    if not args.dry_run:
        print("restart DaVinci Resolve, then use Workspace > Scripts > LipSync (Studio) or LipSync.lua (free)")
    return 0
