"""The face-track cache's key and its LRU clean-up, on real files (the reuse across languages through a
real daemon is tested in test_jobs.py)."""
from __future__ import annotations

import os
from pathlib import Path

from lipsync_daemon.tracks import TrackCache, track_key


def test_key_follows_the_source_file_not_the_path_given(tmp_path: Path) -> None:
    shot = tmp_path / "shot.mp4"
    shot.write_bytes(b"frames")
    (tmp_path / "link.mp4").symlink_to(shot)
    key = track_key(shot)
    assert track_key(tmp_path / "link.mp4") == key
    assert track_key(tmp_path / "." / "shot.mp4") == key
    shot.write_bytes(b"other frames")  # edited in place: a new track
    assert track_key(shot) != key


def test_least_recently_used_tracks_go_first_but_never_one_in_use(tmp_path: Path) -> None:
    cache = TrackCache(tmp_path / "tracks", max_files=2, max_bytes=1 << 20)
    shots = []
    for i in range(3):
        shots.append(tmp_path / f"shot{i}.mp4")
        shots[-1].write_bytes(bytes([i]) * 10)
    paths = [cache.path_for(s) for s in shots]
    cache.folder.mkdir()
    for age, path in zip((300, 200, 100), paths):  # shot0 used longest ago
        path.write_bytes(b"track")
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    with cache.use(shots[0]) as in_use:
        assert in_use == paths[0]
        assert cache.prune() == [paths[1]]  # the oldest, shot0, is being rendered
    assert paths[0].is_file() and paths[2].is_file()
    assert paths[0].stat().st_mtime == 1_000_000 - 300  # use moved its access time, not its mtime
    with cache.use(shots[1]) as new:  # a third shot is tracked: the least recently used one goes
        new.write_bytes(b"track")
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([paths[0].name, paths[1].name])


def test_size_cap_removes_tracks_until_under_it(tmp_path: Path) -> None:
    cache = TrackCache(tmp_path / "tracks", max_files=100, max_bytes=250)
    cache.folder.mkdir()
    for i in range(4):
        (cache.folder / f"{i:064x}.npz").write_bytes(b"x" * 100)
        os.utime(cache.folder / f"{i:064x}.npz", (1000 + i, 1000 + i))
    removed = cache.prune()
    assert [p.name for p in removed] == [f"{0:064x}.npz", f"{1:064x}.npz"]
    assert sum(p.stat().st_size for p in cache.folder.iterdir()) <= 250
