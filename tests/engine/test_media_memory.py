"""Streaming: reading and re-encoding a shot holds a few frames, never the shot (checked on real RSS)."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_video

FRAMES, WIDTH, HEIGHT = 300, 640, 360  # 300 x 0.69 MB of RGB: 207 MB if a reader or writer kept them

SCRIPT = textwrap.dedent("""
    import json, sys
    from lipsync_engine.media import VideoWriter, probe_video, read_frames
    from lipsync_engine.options import RenderOptions

    def kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1])

    src, out = sys.argv[1], sys.argv[2]
    info = probe_video(src)
    with VideoWriter(out, info, RenderOptions(codec="ffv1")) as writer:
        for frame in read_frames(src, info):
            writer.write(frame.rgb, frame.pts)
            if frame.index == 20:
                warm = kib("VmRSS:")
        writer.finish()
    print(json.dumps({"warm_kib": warm, "peak_kib": kib("VmHWM:")}))
""")


def test_read_and_write_hold_a_few_frames(tmp_path: Path) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the process's memory")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames = [np.roll(base, 7 * i, axis=1) for i in range(FRAMES)]
    src = make_video(tmp_path / "long.mp4", frames, options={"preset": "ultrafast", "crf": "30"})
    del frames
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(src), str(tmp_path / "take.mkv")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    memory = json.loads(done.stdout.strip().splitlines()[-1])
    growth_mb = (memory["peak_kib"] - memory["warm_kib"]) / 1024
    assert growth_mb < 60, f"memory grew {growth_mb:.0f} MB after frame 20: frames are being kept"
