"""The Resolve scene the plugin tests share: paths, a stand-in take, and a project on the fake API.

Kept out of conftest.py so test modules can import it by a name no other test folder uses."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_resolve, fake_resolve_items

from fake_resolve import FakeMediaPoolItem, FakeResolve, FakeTimeline, probe  # noqa: E402
from media_factory import make_video, pattern_frames  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
RESOLVE_DIR = REPO / "editor_plugins" / "resolve"
sys.path.insert(0, str(RESOLVE_DIR))  # the Resolve script imports its support package as `lipsync_resolve`
SPEECH_CLIP = "clips/grid_bbaf2n.mp4"  # 360x288, 25 fps, one speaker, CC-BY-4.0 (GRID corpus)


def write_take(path: Path, frames: int = 48) -> Path:
    """A tiny real video standing in for a rendered take (16x16 pattern at 24 fps)."""
    return make_video(path, pattern_frames(frames, 16, 16), fps=24)


def build_project(media_root, work):
    """'Dub reel' at 25 fps from 01:00:00:00 (frame 90000): shot.mp4 [5, 20) at 90000, noface.mp4 [0, 10)
    at 90015; 'Dub DE' carries 2 s of speech from 90000; 'Dub FR' a 0.3 s file that claims 2 s."""
    resolve = FakeResolve()
    pool = resolve.project.GetMediaPool()
    timeline = resolve.project.add_timeline(FakeTimeline("Dub reel", fps=25, audio_tracks=2))
    timeline.SetTrackName("audio", 1, "Dub DE")
    timeline.SetTrackName("audio", 2, "Dub FR")
    clips = {}
    for name in ("shot.mp4", "noface.mp4", "de.wav", "short.wav"):
        path = str(media_root / name)
        fps, frames, kind, start_tc = probe(path)
        clips[name] = FakeMediaPoolItem(path, fps or "25", frames or 50, kind, start_tc)
        pool.GetRootFolder().clips.append(clips[name])
    timeline.place(clips["shot.mp4"], 5, 20, 90000, "video", 1)
    timeline.place(clips["noface.mp4"], 0, 10, 90015, "video", 1)
    timeline.place(clips["de.wav"], 0, 50, 90000, "audio", 1)
    timeline.place(clips["short.wav"], 0, 50, 90000, "audio", 2)
    settings = work / "LipSync.json"
    settings.write_text(json.dumps({"lipsync_command": [sys.executable, "-m", "lipsync_cli.main"],
                                    "output_dir": str(work / "takes"), "mode": "track"}))
    return resolve, timeline, settings
