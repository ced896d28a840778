"""``lipsync-daemon``: start the daemon from a TOML config file plus flags (flags win).

Prints nothing but JSON log lines on stderr. Once serving, it writes ``<data_dir>/daemon.json``
(pid and the addresses it listens on, for clients to find it). SIGTERM / SIGINT stop it gracefully,
giving running jobs back to the queue; a kill -9 is also safe (jobs resume at the next start).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from lipsync_daemon.config import ConfigError, load_config
from lipsync_daemon.errors import ServiceError
from lipsync_daemon.inbox import write_atomically
from lipsync_daemon.logs import setup_logging

log = logging.getLogger("lipsync_daemon")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lipsync-daemon", description="The lip-sync daemon (gRPC, job queue, worker).")
    p.add_argument("--config", type=Path, help="TOML settings file (keys as in lipsync_daemon.config.DaemonConfig)")
    p.add_argument("--data-dir", dest="data_dir", help="token, job database, socket, blobs, outputs")
    p.add_argument("--listen", action="append", help="'unix', 'unix:/abs.sock' or 'host:port' (repeatable)")
    p.add_argument("--allow-host", dest="allowed_hosts", action="append",
                   help="host name a TCP client may connect as besides loopback (repeatable; DNS-rebinding defence)")
    p.add_argument("--root", dest="allowed_roots", action="append", help="allowed media/output root (repeatable)")
    p.add_argument("--generator", help="'default', 'identity' or a weights path")
    p.add_argument("--model-sha256", dest="model_sha256", help="required digest of the weights file")
    p.add_argument("--backend", help="auto (default: the fastest here), torch, onnx, tensorrt, triton")
    p.add_argument("--triton-url", dest="triton_url", help="HOST:PORT of the Triton server's gRPC endpoint")
    p.add_argument("--triton-model", dest="triton_model", help="model name in the Triton repository")
    p.add_argument("--engine-cache", dest="engine_cache_dir",
                   help="folder of exported ONNX files and TensorRT plans (default <data_dir>/engines)")
    p.add_argument("--max-batch", dest="max_batch", type=int, help="largest batch sent to the device at once")
    p.add_argument("--device", help="cpu, cuda, cuda:N")
    p.add_argument("--precision", help="fp32 or fp16")
    p.add_argument("--concurrency", type=int, help="jobs rendered at once")
    p.add_argument("--max-crashes", dest="max_crashes", type=int, help="engine crashes before a job ends FAILED")
    p.add_argument("--max-upload-bytes", dest="max_upload_bytes", type=int)
    p.add_argument("--min-free-bytes", dest="min_free_bytes", type=int)
    p.add_argument("--max-output-bytes", dest="max_output_bytes", type=int, help="per-file limit of renders (0 = none)")
    p.add_argument("--tls-cert", dest="tls_cert")
    p.add_argument("--tls-key", dest="tls_key")
    p.add_argument("--no-inbox", dest="inbox", action="store_const", const=False, help="do not watch the inbox")
    p.add_argument("--log-level", dest="log_level")
    return p


def main(argv: list[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    config_path = args.pop("config")
    try:
        config = load_config(config_path, args)
    except ConfigError as exc:
        print(f"lipsync-daemon: error: {exc}", file=sys.stderr)
        return 2
    setup_logging(config.log_level)
    from lipsync_daemon.server import Daemon, DaemonRunning

    try:
        daemon = Daemon(config)
        daemon.start()
    except (DaemonRunning, ServiceError, OSError, sqlite3.DatabaseError) as exc:
        log.error("daemon could not start", extra={"error": str(exc)})
        print(f"lipsync-daemon: error: {exc}", file=sys.stderr)
        return 2
    write_atomically(config.data_dir / "daemon.json",
                     json.dumps({"pid": os.getpid(), "addresses": daemon.addresses}))
    log.info("serving", extra={"addresses": daemon.addresses, "data_dir": str(config.data_dir),
                               "inbox": str(config.inbox_dir) if config.inbox else None,
                               "model": daemon.worker.model_info.get("model")})
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    log.info("stopping")
    daemon.stop()
    (config.data_dir / "daemon.json").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
