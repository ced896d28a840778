"""The console script keeps MediaPipe's native log chatter off stderr and passes everything else through."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2

from lipsync_cli.console import filter_output

from media_factory import clip_frames, make_audio
from pipeline_media import FACE_CLIP, OTHER_CLIP, clip_speech, needs_data

NOISE_LINE = (b"W0000 00:00:1795624826.280906    4246 inference_feedback_manager.cc:114] Feedback manager "
              b"requires a model with a single signature inference. Disabling support for feedback tensors.\n")


def test_filter_drops_native_info_and_warning_lines_only():
    text = (b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n" + NOISE_LINE
            + b"E0000 00:00:1795624826.3 4249 graph.cc:12] a real native error\n"
            + b"lipsync: error: no face found\n")
    shown, held = filter_output(text)
    assert shown == b"E0000 00:00:1795624826.3 4249 graph.cc:12] a real native error\nlipsync: error: no face found\n"
    assert held == b""


def test_progress_bars_pass_at_once_and_a_possible_noise_line_waits_for_its_end():
    shown, held = filter_output(b"\rrender:  40%|####      | 30/75")
    assert shown == b"\rrender:  40%|####      | 30/75" and held == b""
    shown, held = filter_output(NOISE_LINE[:30])
    assert shown == b"" and held == NOISE_LINE[:30]
    shown, held = filter_output(held + NOISE_LINE[30:] + b"Where the face was lost: frames 3-9\n")
    assert shown == b"Where the face was lost: frames 3-9\n" and held == b""
    assert filter_output(b"Waiting", final=True) == (b"Waiting", b"")


@needs_data
def test_console_script_hides_mediapipe_chatter(tmp_path):
    image = tmp_path / "face.png"
    cv2.imwrite(str(image), cv2.cvtColor(clip_frames(FACE_CLIP, 0.0, 1)[0], cv2.COLOR_RGB2BGR))
    dub = make_audio(tmp_path / "dub.wav", clip_speech(OTHER_CLIP, seconds=0.4), 16000)
    def run(picture: Path, out: str, **env: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "lipsync_cli.main", "frame", "--image", str(picture), "--audio", str(dub),
                   "--out", str(tmp_path / out)]
        return subprocess.run(command, capture_output=True, timeout=300, env={**os.environ, **env},
                              cwd=Path(__file__).parents[2])

    raw = run(image, "raw.png", LIPSYNC_NATIVE_LOGS="1")
    assert raw.returncode == 0 and b"inference_feedback_manager" in raw.stderr  # the chatter is real
    quiet = run(image, "quiet.png")
    assert quiet.returncode == 0, quiet.stderr
    assert b"inference_feedback_manager" not in quiet.stderr and b"TensorFlow Lite" not in quiet.stderr
    assert b"wrote" in quiet.stdout
    missing = run(tmp_path / "none.png", "none_out.png")
    assert missing.returncode == 2 and b"lipsync: error: image file not found" in missing.stderr
