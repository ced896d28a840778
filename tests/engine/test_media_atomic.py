"""Atomic output: the final path holds nothing or the whole file; temp files never linger; a full
disk becomes OutputError (tested on /dev/full and on a real 4 MB tmpfs)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_video, pattern_frames

from lipsync_engine.errors import OutputError, RenderCancelled
from lipsync_engine.media import VideoWriter, atomic_path, encoder_settings, estimated_take_bytes, probe_video, read_frames
from lipsync_engine.options import RenderOptions


def test_clean_exit_replaces_final(tmp_path: Path) -> None:
    final = tmp_path / "take.mov"
    final.write_bytes(b"old take")
    with atomic_path(final) as temp:
        assert temp.parent == tmp_path and temp.name.startswith(".") and temp.suffix == ".mov"
        temp.write_bytes(b"new take")
        assert final.read_bytes() == b"old take"  # untouched until the end
    assert final.read_bytes() == b"new take"
    assert sorted(tmp_path.iterdir()) == [final]


def test_exception_removes_temp_and_keeps_final(tmp_path: Path) -> None:
    final = tmp_path / "take.mov"
    final.write_bytes(b"old take")
    with pytest.raises(KeyError):
        with atomic_path(final) as temp:
            temp.write_bytes(b"half a take")
            raise KeyError("cancelled")
    assert final.read_bytes() == b"old take"
    assert sorted(tmp_path.iterdir()) == [final]


def test_disk_full_on_dev_full_becomes_output_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("/dev/full is absent on this system")
    final = tmp_path / "take.mov"
    with pytest.raises(OutputError, match="disk full.*free"):
        with atomic_path(final) as temp:
            temp.symlink_to("/dev/full")  # every write to it fails with ENOSPC, a real kernel error
            with open(temp, "wb") as handle:
                handle.write(b"x" * 65536)
                handle.flush()
    assert list(tmp_path.iterdir()) == []


def test_writer_exception_leaves_nothing(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mp4", pattern_frames(4, 64, 48))
    info = probe_video(src)
    final = tmp_path / "take.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(final, info) as writer:
            for frame in read_frames(src, info):
                writer.write(frame.rgb, frame.pts)
            raise RuntimeError("render cancelled")
    assert sorted(tmp_path.iterdir()) == [src]
    with VideoWriter(final, info) as writer:  # closed without finish(): nothing is written either
        writer.write(np.zeros((48, 64, 3), np.uint8), info.start_time)
    assert sorted(tmp_path.iterdir()) == [src]


def test_writer_output_folder_problems(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "src.mp4", pattern_frames(2, 64, 48)))
    with pytest.raises(OutputError, match="does not exist"):
        VideoWriter(tmp_path / "missing" / "take.mp4", info)
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        VideoWriter(tmp_path / "dir.mp4", info)


def test_writer_refuses_a_take_the_disk_cannot_hold(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "src.mp4", pattern_frames(2, 64, 48)))
    prores = RenderOptions(codec="prores")
    ten_minutes_hd = dataclasses.replace(info, width=1920, height=1080, frame_count=15000, duration=Fraction(600))
    size = estimated_take_bytes(ten_minutes_hd, encoder_settings(tmp_path / "t.mov", ten_minutes_hd, prores))
    assert 10e9 < size < 20e9  # ProRes HQ 1080p25 runs at about 180 Mbps: 13.5 GB for 10 minutes
    huge = dataclasses.replace(info, width=8192, height=8192, frame_count=10**7)  # a 3-hour 8K header
    with pytest.raises(OutputError, match=r"not enough disk space.*MB are free"):
        VideoWriter(tmp_path / "take.mov", huge, prores)
    assert sorted(tmp_path.iterdir()) == [tmp_path / "src.mp4"]


TMPFS_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from lipsync_engine.errors import OutputError
    from lipsync_engine.media import VideoWriter, probe_video, read_frames
    from lipsync_engine.options import RenderOptions
    src, out_dir = sys.argv[1], sys.argv[2]
    info = probe_video(src)
    try:
        with VideoWriter(os.path.join(out_dir, "take.mkv"), info, RenderOptions(codec="ffv1")) as writer:
            for frame in read_frames(src, info):
                writer.write(frame.rgb, frame.pts)
            writer.finish()
        result = "written"
    except OutputError as exc:
        result = str(exc)
    print(json.dumps({"result": result, "left": sorted(os.listdir(out_dir))}))
""")


def test_writer_on_full_tmpfs_raises_output_error_and_cleans_up(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    probe = subprocess.run([unshare or "unshare", "-rm", "true"], capture_output=True) if unshare else None
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (unshare -rm refused); /dev/full test covers the mapping")
    noise = [np.random.default_rng(i).integers(0, 256, (240, 320, 3), dtype=np.uint8) for i in range(12)]
    src = make_video(tmp_path / "noise.mkv", noise, codec="ffv1", pix_fmt="bgr0")  # ~2.8 MB, incompressible
    # 4 MB passes the writer's up-front estimate (2 x 1.7 MB) but not the real two copies of noise
    mount = tmp_path / "small_disk"
    mount.mkdir()
    command = (f'mount -t tmpfs -o size=4m tmpfs "{mount}" && "{sys.executable}" -c "$0" "{src}" "{mount}"')
    done = subprocess.run([unshare, "-rm", "sh", "-c", command, TMPFS_SCRIPT], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["result"].startswith("disk full writing"), report
    assert report["left"] == []  # no temp file and no partial take on the full disk


def test_cancel_during_finish_leaves_nothing(tmp_path: Path) -> None:
    src = make_video(tmp_path / "src.mp4", pattern_frames(4, 64, 48))
    info = probe_video(src)
    cancel = threading.Event()
    with pytest.raises(RenderCancelled):
        with VideoWriter(tmp_path / "take.mp4", info) as writer:
            for frame in read_frames(src, info):
                writer.write(frame.rgb, frame.pts)
            cancel.set()
            writer.finish(cancel=cancel)
    assert sorted(tmp_path.iterdir()) == [src]
