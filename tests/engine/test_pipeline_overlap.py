"""render_video with its stages overlapped (decoder and encoder threads) against the sequential path:
the same take bit for bit, progress in order from the caller's thread, errors and cancel from any stage."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.errors import MediaError, ModelError, RenderCancelled
from lipsync_engine.faces.tracker import ShotTrack

from media_factory import clip_frames, make_audio, make_video
from pipeline_media import FACE_CLIP, LOSSLESS, OTHER_CLIP, clip_speech, decoded, needs_data, tiny_learned_weights

pytestmark = needs_data
FRAMES = 20


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("overlap")
    frames = clip_frames(FACE_CLIP, 0.0, FRAMES)
    return {
        "root": root,
        "mkv": make_video(root / "shot.mkv", frames, **LOSSLESS),  # RGB source: whole frames converted
        "mp4": make_video(root / "shot.mp4", frames),  # H.264 4:2:0: the source's own samples kept
        "dub": make_audio(root / "dub.wav", clip_speech(OTHER_CLIP, seconds=FRAMES / 25), 16000),
        "weights": tiny_learned_weights(root),
    }


@pytest.fixture(scope="module")
def learned(media):
    return load_generator(str(media["weights"]))  # edits the mouth of every frame with a face


def stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lipsync-")]


def packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(p.pts, bytes(p)) for p in container.demux(video=0) if p.size]


# FFV1 takes only: libx264's output here changes from run to run when the CPU is busy (its frame threads'
# timing), even for the same frames through the same VideoWriter in one thread, so H.264 packets prove nothing.
@pytest.mark.parametrize("source", ["mkv", "mp4"])
def test_overlap_gives_the_same_take_and_track(media, learned, source):
    takes, tracks, events = {}, {}, {}
    for overlap in (False, True):
        name = f"{source}_{'overlap' if overlap else 'sequential'}"
        takes[overlap], tracks[overlap] = media["root"] / f"{name}.mkv", media["root"] / f"{name}.npz"
        events[overlap] = []
        render_video(media[source], media["dub"], takes[overlap], learned, RenderOptions(codec="ffv1", overlap=overlap,
                     batch_size=3), track=tracks[overlap],
                     progress=lambda e, seen=events[overlap]: seen.append((e, threading.current_thread().name)))
        assert stage_threads() == []
    sequential, overlapped = ShotTrack.load(tracks[False]), ShotTrack.load(tracks[True])
    assert np.array_equal(sequential.valid, overlapped.valid) and sequential.valid.sum() > FRAMES // 2
    np.testing.assert_array_equal(sequential.points, overlapped.points)
    assert packets(takes[True]) == packets(takes[False])
    source_frames, a, b = decoded(media[source]), decoded(takes[False]), decoded(takes[True])
    assert len(b) == FRAMES and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert sum(not np.array_equal(x, y) for x, y in zip(source_frames, b)) > 0, "no mouth was edited"
    caller = threading.current_thread().name
    for seen in events.values():
        assert {thread for _, thread in seen} == {caller}, "a progress callback ran on a worker thread"
        stages = [e.stage for e, _ in seen]
        assert stages == sorted(stages, key=["track", "render", "finalize"].index)
        for stage in ("track", "render"):
            done = [e.done for e, _ in seen if e.stage == stage]
            assert done == sorted(done) and done[-1] == FRAMES


def test_cancel_with_overlap_stops_every_stage_and_leaves_nothing(media, learned):
    cancel = threading.Event()
    out = media["root"] / "cancelled.mkv"

    def progress(event):
        if event.stage == "render":
            cancel.set()

    with pytest.raises(RenderCancelled):
        render_video(media["mp4"], media["dub"], out, learned, RenderOptions(codec="ffv1", batch_size=2),
                     progress=progress, cancel=cancel)
    assert stage_threads() == []
    assert not out.exists() and not [p for p in media["root"].iterdir() if p.name.startswith(".cancelled")]


def test_decoder_error_in_the_render_pass_propagates(media, learned, tmp_path):
    """The shot is cut short after the track pass read it whole: the render pass's decoder thread fails."""
    shot = tmp_path / "shrinking.mkv"
    shot.write_bytes(media["mkv"].read_bytes())
    out = tmp_path / "take.mkv"

    def progress(event):
        if event.stage == "track" and event.done == event.total:
            os.truncate(shot, shot.stat().st_size // 2)

    with pytest.raises(MediaError, match="shrinking.mkv' is truncated: only [1-9]"):  # frames decoded first
        render_video(shot, media["dub"], out, learned, RenderOptions(codec="ffv1", batch_size=2), progress=progress)
    assert stage_threads() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shrinking.mkv"]  # no take, no temp file


class FailingGenerator:
    """A third-party generator (the public Generator protocol) whose model fails at its second batch."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, 0
        self.name, self.backend, self.crop_size = inner.name, inner.backend, inner.crop_size

    def build_profile(self, samples):
        return self.inner.build_profile(samples)

    def plan(self, mel, speech, fps, profile, points=None):
        return self.inner.plan(mel, speech, fps, profile, points)

    def render(self, crops, points, motion, profile):
        self.calls += 1
        if self.calls == 2:
            raise ModelError("the renderer failed on this batch (out of device memory)")
        return self.inner.render(crops, points, motion, profile)


def test_model_error_with_overlap_propagates(media, learned, tmp_path):
    out = tmp_path / "take.mp4"
    with pytest.raises(ModelError, match="out of device memory"):
        render_video(media["mp4"], media["dub"], out, FailingGenerator(learned), RenderOptions(batch_size=4))
    assert stage_threads() == []
    assert list(tmp_path.iterdir()) == []


ENCODER_LIMIT = """
import json, resource, signal, sys, threading
from lipsync_engine import RenderOptions, load_generator, render_video
from lipsync_engine.errors import LipsyncError
shot, dub, track, out = sys.argv[1:5]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))  # every file the take writes
try:
    render_video(shot, dub, out, load_generator("identity"), RenderOptions(codec="ffv1"), track=track)
    result = "written"
except LipsyncError as exc:
    result = f"{type(exc).__name__}: {exc}"
threads = [t.name for t in threading.enumerate() if t.name.startswith("lipsync-")]
print(json.dumps({"result": result, "threads": threads}))
"""


def test_encoder_write_error_with_overlap_propagates(media, tmp_path):
    """The encoder thread's writes fail (a per-file size limit: EFBIG, as a full disk gives ENOSPC)."""
    track = tmp_path / "shot.track.npz"
    render_video(media["mkv"], media["dub"], tmp_path / "first.mkv", load_generator("identity"),
                 RenderOptions(codec="ffv1"), track=track)
    outdir = tmp_path / "out"
    outdir.mkdir()
    done = subprocess.run([sys.executable, "-c", ENCODER_LIMIT, str(media["mkv"]), str(media["dub"]), str(track),
                           str(outdir / "take.mkv")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["result"].startswith("OutputError"), report
    assert report["threads"] == []
    assert list(outdir.iterdir()) == []
