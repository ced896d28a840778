"""`lipsync frame`, `lipsync render`, `lipsync demo` through the real entry point: exit codes and messages."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from lipsync_cli.main import main
from lipsync_engine.media import probe_video

from media_factory import clip_frames, make_audio, make_video
from pipeline_media import FACE_CLIP, LOSSLESS, OTHER_CLIP, clip_speech, needs_data

pytestmark = needs_data


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    face = clip_frames(FACE_CLIP, 0.0, 10)
    image = root / "face.png"
    cv2.imwrite(str(image), cv2.cvtColor(face[0], cv2.COLOR_RGB2BGR))
    return {
        "root": root,
        "image": image,
        "shot": make_video(root / "shot.mkv", face, **LOSSLESS),
        "dub": make_audio(root / "dub.wav", clip_speech(OTHER_CLIP, seconds=0.4), 16000),
        "long": make_audio(root / "long.wav", clip_speech(OTHER_CLIP, seconds=2.0), 16000),
        "text": root / "notes.txt",
    }


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_frame_writes_an_image_of_the_same_size(files, capsys):
    out = files["root"] / "out.png"
    code, stdout, _ = run(capsys, "frame", "--image", files["image"], "--audio", files["dub"], "--out", out,
                          "--generator", "identity")
    assert code == 0, stdout
    result = cv2.imread(str(out))
    assert result.shape == cv2.imread(str(files["image"])).shape
    assert "wrote" in stdout


def test_render_writes_the_take_and_its_qa_record(files, capsys):
    out = files["root"] / "take.mkv"
    code, stdout, _ = run(capsys, "render", "--video", files["shot"], "--audio", files["dub"], "--out", out,
                          "--generator", "identity", "--codec", "ffv1", "--silence", "keep_original")
    assert code == 0
    assert probe_video(out).frame_count == 10
    record = json.loads((files["root"] / "take.mkv.qa.json").read_text())
    assert record["frames"] == 10 and record["generator"] == "identity" and record["fps"] == "25/1"
    assert "QA record" in stdout


@pytest.mark.parametrize("argv, message", [
    (["frame", "--image", "{root}/missing.png", "--audio", "{dub}", "--out", "{out}/o.png"], "image file not found"),
    (["frame", "--image", "{text}", "--audio", "{dub}", "--out", "{out}/o.png"], "not a readable image"),
    (["frame", "--image", "{image}", "--audio", "{dub}", "--out", "{out}/o.txt"], "no image extension"),
    (["render", "--video", "{shot}", "--audio", "{text}", "--out", "{out}/t.mkv"], "notes.txt"),
    (["render", "--video", "{dub}", "--audio", "{dub}", "--out", "{out}/t.mkv"], "dub.wav"),
    (["render", "--video", "{shot}", "--audio", "{long}", "--out", "{out}/t.mkv", "--audio-policy", "strict"],
     "the dub lasts"),
    (["render", "--video", "{shot}", "--audio", "{dub}", "--out", "{out}/nowhere/t.mkv"], "does not exist"),
    (["render", "--video", "{shot}", "--audio", "{dub}", "--out", "{out}/t.mkv", "--weights", "{root}/none.safetensors"],
     "none.safetensors"),
])
def test_bad_input_is_one_clear_line(files, capsys, tmp_path, argv, message):
    files["text"].write_text("not media\n")
    args = [a.format(out=tmp_path, **{k: str(v) for k, v in files.items()}) for a in argv]
    if args[0] == "render":
        args += ["--generator", "identity"] if "--weights" not in args else []
    else:
        args += ["--generator", "identity"]
    code, _, stderr = run(capsys, *args)
    assert code == 2
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("lipsync: error:")]
    assert len(lines) == 1 and message in lines[0], stderr
    assert list(tmp_path.iterdir()) == [], "something was left at the output path"


def test_demo_renders_and_says_where(tmp_path, capsys):
    code, stdout, _ = run(capsys, "demo", "--out", tmp_path, "--generator", "identity")
    assert code == 0
    take = tmp_path / "demo_take.mp4"
    assert f"demo take: {take.resolve()}" in stdout
    # 3 s with 34 usable speech frames and a faint peak: the sync expert cannot name an offset, and says so
    assert "sync check inconclusive (confidence " in stdout and "for 34 speech frames)" in stdout, stdout
    assert "offset +" not in stdout
    info = probe_video(take)
    assert (info.frame_count, info.width, info.height) == (75, 450, 450) and info.has_audio
