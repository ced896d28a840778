"""Start a daemon as a child process and wait until it serves (for tools, benchmarks and tests).

The daemon announces itself in ``<data_dir>/daemon.json`` (pid + addresses) once it serves; this waits
for that file to name the child's pid, then returns a client holding the daemon's token.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from lipsync_daemon.auth import read_token
from lipsync_daemon.client import ClientError, LipsyncClient


def launch_daemon(data_dir: Path, flags: list[str], *, log: IO | None = None, cwd: Path | None = None,
                  timeout_s: float = 120.0) -> tuple[subprocess.Popen, LipsyncClient]:
    """Run ``python -m lipsync_daemon.main --data-dir data_dir *flags``; return (process, client) once serving.

    Raises ClientError("UNAVAILABLE") with the end of the log if it exits or does not serve in time.
    """
    endpoint = Path(data_dir) / "daemon.json"
    endpoint.unlink(missing_ok=True)
    env = dict(os.environ)
    if cwd is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), env.get("PYTHONPATH")]))
    process = subprocess.Popen([sys.executable, "-m", "lipsync_daemon.main", "--data-dir", str(data_dir), *flags],
                               cwd=cwd, stdout=log, stderr=log, env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClientError("UNAVAILABLE", f"the daemon exited with code {process.returncode} while starting; "
                                             "see its log")
        try:
            info = json.loads(endpoint.read_text())
        except (OSError, ValueError):
            info = {}
        if info.get("pid") == process.pid:
            return process, LipsyncClient(info["addresses"][0], read_token(Path(data_dir) / "token"), timeout_s=20)
        time.sleep(0.1)
    process.kill()
    raise ClientError("UNAVAILABLE", f"the daemon did not serve within {timeout_s:.0f} s")
