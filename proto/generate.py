"""Regenerate daemon/lipsync_daemon/_proto/ from proto/lipsync/v1/lipsync.proto, byte-for-byte.

Run from anywhere: ``python proto/generate.py``; ``--check`` exits 1 if the checked-in code differs.
Needs grpcio-tools 1.62.3 (the release whose protoc matches protobuf 4.25, the runtime mediapipe pins).
The generated gRPC module imports its message module absolutely (``from lipsync.v1 import ...``); the
import is rewritten to be package-relative so the code lives inside ``lipsync_daemon._proto``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO / "proto"
PROTO_FILE = PROTO_ROOT / "lipsync" / "v1" / "lipsync.proto"
TARGET = REPO / "daemon" / "lipsync_daemon" / "_proto"
TOOLS_VERSION = "1.62.3"
FILES = ("lipsync_pb2.py", "lipsync_pb2.pyi", "lipsync_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    """Run protoc into ``out_dir`` and make the gRPC module's import package-relative."""
    from grpc_tools import protoc

    code = protoc.main([
        "protoc", f"-I{PROTO_ROOT}", f"--python_out={out_dir}", f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}", str(PROTO_FILE),
    ])
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    grpc_module = out_dir / "lipsync" / "v1" / "lipsync_pb2_grpc.py"
    text = grpc_module.read_text()
    grpc_module.write_text(text.replace("from lipsync.v1 import lipsync_pb2", "from . import lipsync_pb2"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the checked-in code")
    args = parser.parse_args()
    found = version("grpcio-tools")
    if found != TOOLS_VERSION:
        print(f"warning: grpcio-tools {found} found, the checked-in code was made with {TOOLS_VERSION}",
              file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        made = Path(tmp) / "lipsync" / "v1"
        differ = [n for n in FILES if not (TARGET / n).exists()
                  or (TARGET / n).read_bytes() != (made / n).read_bytes()]
        if args.check:
            print("differs: " + ", ".join(differ) if differ else "generated code is up to date")
            return 1 if differ else 0
        TARGET.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (TARGET / name).write_bytes((made / name).read_bytes())
    print(f"wrote {', '.join(FILES)} to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
