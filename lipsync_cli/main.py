"""Entry point of the `lipsync` console script.

Each command group lives in its own module exposing ``register(subparsers)``; a command handler
receives the parsed args and returns the process exit code. Errors the product raises on purpose
(LipsyncError, ClientError) are printed as one clear line, never as a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from lipsync_cli.console import native_log_filter

COMMAND_MODULES = (
    "lipsync_cli.render_commands",  # frame, render, demo
    "lipsync_cli.model_commands",  # train, adapt
    "lipsync_cli.eval_commands",  # eval, train-sync, build-dataset
    "lipsync_cli.daemon_commands",  # submit, watch-job, fetch, cancel, jobs, server-info
    "lipsync_cli.plugin_commands",  # otio, watch, render-takes, resolve-install
    "lipsync_cli.export_commands",  # export-onnx, export-triton, build-trt, serve-triton
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lipsync", description="Offline lip-sync for video dubbing.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; as the console script (``argv`` None) MediaPipe's native log chatter is filtered."""
    args = build_parser().parse_args(argv)
    log_filter = native_log_filter() if argv is None else None
    try:
        return _run(args)
    finally:
        if log_filter is not None:
            log_filter.stop()


def _run(args: argparse.Namespace) -> int:
    from lipsync_engine.errors import LipsyncError

    try:
        return int(args.handler(args) or 0)
    except LipsyncError as exc:
        print(f"lipsync: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lipsync: interrupted; nothing was written at the output path", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
