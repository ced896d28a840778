"""Watch folder: which files form a job, and when a file has stopped growing."""
from __future__ import annotations

import json
import os

from editor_plugins.watch.pairing import find_pairs
from editor_plugins.watch.stability import StabilityTracker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def touch(path, data=b"data"):
    path.write_bytes(data)
    return path


def test_naming_convention_and_sidecar(tmp_path):
    for name in ("shot.mov", "shot.de.wav", "shot.fr.wav", "intro.mp4", "intro.wav", "take3.mov",
                 "dub_take3.wav", ".hidden.wav", "copying.wav.part", "orphan.es.wav"):
        touch(tmp_path / name)
    (tmp_path / "take3.lipsync.json").write_text(json.dumps(
        {"audio": "dub_take3.wav", "language": "it", "settings": {"codec": "prores"}, "priority": 2}))
    pairs, problems = find_pairs(tmp_path)
    found = sorted((p.video.name, p.audio.name, p.language) for p in pairs)
    assert found == [("intro.mp4", "intro.wav", "XX"), ("shot.mov", "shot.de.wav", "DE"),
                     ("shot.mov", "shot.fr.wav", "FR"), ("take3.mov", "dub_take3.wav", "IT")]
    sidecar_pair = [p for p in pairs if p.sidecar][0]
    assert sidecar_pair.settings == {"codec": "prores"} and sidecar_pair.extra == {"priority": 2}
    assert sidecar_pair.files[-1].name == "take3.lipsync.json" and problems == []


def test_bad_sidecars_are_problems_naming_the_file(tmp_path):
    touch(tmp_path / "a.mov")
    (tmp_path / "a.lipsync.json").write_text("{not json")
    touch(tmp_path / "b.mov")
    (tmp_path / "b.lipsync.json").write_text(json.dumps({"audio": "b.wav", "langauge": "DE"}))
    (tmp_path / "c.lipsync.json").write_text(json.dumps({"audio": "c.wav"}))
    pairs, problems = find_pairs(tmp_path)
    messages = {path.name: message for path, message in problems}
    assert pairs == []
    assert "not readable JSON" in messages["a.lipsync.json"]
    assert "unknown keys ['langauge']" in messages["b.lipsync.json"]
    assert "has no video 'c.mov'" in messages["c.lipsync.json"]


def test_dub_may_pair_with_a_shot_already_processing(tmp_path):
    processing = tmp_path / "processing"
    processing.mkdir()
    touch(processing / "shot.mov")
    touch(tmp_path / "shot.es.wav")
    pairs, _ = find_pairs(tmp_path, (processing,))
    assert [(p.video, p.language) for p in pairs] == [(processing / "shot.mov", "ES")]


def test_a_growing_file_is_not_ready_until_it_holds_still(tmp_path):
    clock = Clock()
    tracker = StabilityTracker(settle_s=5.0, clock=clock)
    path = touch(tmp_path / "shot.mov", b"x" * 10)
    assert tracker.is_ready(path) is False  # first sight starts the wait
    clock.now = 4.0
    assert tracker.is_ready(path) is False
    with open(path, "ab") as handle:  # the copy goes on
        handle.write(b"more")
    clock.now = 6.0
    assert tracker.is_ready(path) is False  # growth restarts the wait
    clock.now = 10.0
    assert tracker.is_ready(path) is False
    clock.now = 11.5
    assert tracker.is_ready(path) is True
    os.utime(path, ns=(1, 1))  # touched (mtime changed, same size): wait again
    assert tracker.is_ready(path) is False


def test_empty_and_vanished_files_are_never_ready(tmp_path):
    clock = Clock()
    tracker = StabilityTracker(settle_s=1.0, clock=clock)
    empty = touch(tmp_path / "empty.mov", b"")
    gone = touch(tmp_path / "gone.mov")
    assert not tracker.all_ready((empty, gone))
    gone.unlink()
    clock.now = 5.0
    assert not tracker.is_ready(empty) and not tracker.is_ready(gone)
