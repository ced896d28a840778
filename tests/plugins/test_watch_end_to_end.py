"""`lipsync watch` end to end: real watchdog observers, real files, the real daemon, restarts."""
from __future__ import annotations

import json
import shutil
import threading
import time

import av

from editor_plugins.watch.runner import WatchConfig, WatchFolder
from lipsync_cli.main import main
from lipsync_daemon.client import LipsyncClient


def frames_of(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def wait_for(condition, timeout_s=90.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def watch_folder(media_root, name, **drops):
    """A new folder under the allowed root with files copied in: ``target_name=source_name``."""
    folder = media_root / name
    folder.mkdir()
    for target, source in drops.items():
        shutil.copy(media_root / source, folder / target.replace("__", "."))
    return folder


def test_observer_renders_pairs_and_sorts_sources(media_root, daemon):
    _daemon, client = daemon
    folder = watch_folder(media_root, "watch_observer", shot__mp4="shot.mp4", shot__de__wav="de.wav",
                          take__mp4="noface.mp4", dub_take7__wav="de.wav")
    (folder / "take.lipsync.json").write_text(json.dumps({"audio": "dub_take7.wav", "language": "fr"}))
    (folder / "broken.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + b"\x01" * 3000)
    shutil.copy(media_root / "de.wav", folder / "broken.de.wav")
    (folder / "copying.mp4.part").write_bytes(b"partial")  # a writer's temp name: never touched
    watcher = WatchFolder(WatchConfig(folder, settle_s=0.5, scan_s=0.3), client, log=lambda line: None)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,))
    thread.start()
    try:
        assert wait_for(lambda: len(names(folder / "done")) == 5 and len(names(folder / "failed")) == 4)
    finally:
        stop.set()
        thread.join(10)
    assert names(folder / "out") == ["shot.DE.mp4", "take.FR.mp4"]
    assert frames_of(folder / "out" / "shot.DE.mp4") == 25 and frames_of(folder / "out" / "take.FR.mp4") == 10
    assert names(folder / "done") == ["dub_take7.wav", "shot.de.wav", "shot.mp4", "take.lipsync.json", "take.mp4"]
    assert names(folder / "failed") == ["broken.de.wav", "broken.de.wav.error.txt", "broken.mov",
                                        "broken.mov.error.txt"]
    assert "INVALID_ARGUMENT" in (folder / "failed" / "broken.de.wav.error.txt").read_text()
    assert names(folder / "processing") == [] and (folder / "copying.mp4.part").exists()


def test_growing_files_wait_and_a_restart_neither_redoes_nor_misses(media_root, daemon):
    _daemon, client = daemon
    folder = media_root / "watch_restart"
    folder.mkdir()
    data = (media_root / "shot.mp4").read_bytes()
    (folder / "a.mp4").write_bytes(data[: len(data) // 2])  # a copy in progress
    shutil.copy(media_root / "de.wav", folder / "a.de.wav")
    watcher = WatchFolder(WatchConfig(folder, settle_s=0.6), client, log=lambda line: None)
    watcher.step()
    time.sleep(0.4)
    with open(folder / "a.mp4", "ab") as handle:
        handle.write(data[len(data) // 2:])  # the copy goes on: the wait starts again
    watcher.step()
    assert (folder / "a.mp4").exists() and not watcher.jobs
    time.sleep(0.7)
    watcher.step()  # still now: taken
    assert names(folder / "processing") == ["a.de.wav", "a.mp4"] and len(watcher.jobs) == 1

    restarted = WatchFolder(WatchConfig(folder, settle_s=0.6), client, log=lambda line: None)  # the old one "died"
    shutil.copy(media_root / "noface.mp4", folder / "b.mp4")
    shutil.copy(media_root / "de.wav", folder / "b.es.wav")
    assert wait_for(lambda: restarted.step() or names(folder / "out") == ["a.DE.mp4", "b.ES.mp4"])
    assert frames_of(folder / "out" / "a.DE.mp4") == 25  # rendered from the whole file, not the half
    jobs = [j for j in client.list(limit=1000) if j.request.labels.get("watch_folder") == str(folder)]
    assert len(jobs) == 2  # the resumed pair was not submitted twice

    third = WatchFolder(WatchConfig(folder, settle_s=0.6, polling=True, scan_s=0.3), client, log=lambda line: None)
    shutil.copy(media_root / "de.wav", folder / "b.it.wav")  # a new language for a shot already done: no video
    third.step()
    assert len([j for j in client.list(limit=1000) if j.request.labels.get("watch_folder") == str(folder)]) == 2
    assert names(folder / "processing") == [] and (folder / "b.it.wav").exists()


def test_daemon_down_keeps_files_for_later(media_root, daemon):
    running, _client = daemon
    folder = watch_folder(media_root, "watch_down", c__mp4="noface.mp4", c__de__wav="de.wav")
    lines = []
    down = LipsyncClient("127.0.0.1:9", "x" * 64, retries=0, timeout_s=2)
    watcher = WatchFolder(WatchConfig(folder, settle_s=0.0), down, log=lines.append)
    watcher.step()
    watcher.step()
    assert any("waiting for the daemon" in line and "is it running" in line for line in lines)
    assert names(folder / "processing") == ["c.de.wav", "c.mp4"] and names(folder / "failed") == []
    with LipsyncClient(running.addresses[0], running.token) as up:
        back = WatchFolder(WatchConfig(folder, settle_s=0.0), up, log=lines.append)
        assert wait_for(lambda: back.step() or names(folder / "out") == ["c.DE.mp4"])


def test_cli_once_renders_what_is_ready_and_refuses_a_missing_folder(media_root, daemon_env, capsys):
    folder = watch_folder(media_root, "watch_cli", d__mov="noface.mp4", d__pt__wav="de.wav")
    assert main(["watch", str(folder), "--once", "--settle", "0", "--codec", "ffv1"]) == 0
    assert names(folder / "out") == ["d.PT.mkv"] and names(folder / "done") == ["d.mov", "d.pt.wav"]
    assert main(["watch", str(media_root / "nowhere")]) == 2
    assert "watch folder" in capsys.readouterr().err
