"""Engine settings reach the generator: flags -> DaemonConfig -> EngineOptions, clear start-up errors,
and one real job with the learned generator on ONNX Runtime (the export is kept in the engine cache)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from daemon_harness import CLIP, REPO, start_daemon
from lipsync_daemon._proto import lipsync_pb2 as pb
from lipsync_daemon.config import ConfigError, load_config
from lipsync_daemon.main import build_parser, main
from lipsync_engine.engines import EngineOptions
from media_factory import clip_frames, make_video


def config_from_flags(*flags: str):
    args = vars(build_parser().parse_args(list(flags)))
    return load_config(args.pop("config"), args)


def test_engine_flags_become_the_engine_options(tmp_path: Path) -> None:
    config = config_from_flags("--data-dir", str(tmp_path / "data"), "--backend", "triton", "--triton-url",
                               "127.0.0.1:8001", "--triton-model", "renderer_b", "--engine-cache",
                               str(tmp_path / "plans"), "--max-batch", "4")
    assert config.backend == "triton"
    assert config.engine_options() == EngineOptions(max_batch=4, opt_batch=4, cache_dir=tmp_path / "plans",
                                                    triton_url="127.0.0.1:8001", triton_model="renderer_b")
    default = config_from_flags("--data-dir", str(tmp_path / "data"))
    assert default.engine_options().cache_dir == tmp_path / "data" / "engines"  # exports survive restarts
    assert default.engine_options().triton_url is None


@pytest.mark.parametrize("flags, problem", [
    (["--backend", "triton"], "triton_url"),
    (["--backend", "tensorrtx"], "backend 'tensorrtx' is not known"),
    (["--triton-url", "triton.local"], "not host:port"),
    (["--max-batch", "0"], "max_batch 0"),
])
def test_bad_engine_settings_stop_the_daemon_at_start_up(tmp_path: Path, capsys, flags, problem) -> None:
    with pytest.raises(ConfigError, match=problem):
        config_from_flags(*flags)
    assert main(["--data-dir", str(tmp_path / "data"), *flags]) == 2
    err = capsys.readouterr().err
    assert problem in err and "Traceback" not in err
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_render_cli_triton_without_url_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "lipsync_cli.main", "render", "--video", str(tmp_path / "a.mp4"),
                           "--audio", str(tmp_path / "a.wav"), "--out", str(tmp_path / "b.mp4"),
                           "--backend", "triton", "--engine-cache", str(tmp_path / "cache")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "--triton-url" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_learned_generator_on_onnx_through_the_daemon(tmp_path: Path, media_root: Path, data_dir: Path) -> None:
    small = media_root / "small_160.mp4"  # 1 s at 160x128: the learned generator on a 2-core CPU stays quick
    make_video(small, [cv2.resize(f, (160, 128), interpolation=cv2.INTER_AREA) for f in clip_frames(data_dir / CLIP)])
    cache = tmp_path / "engine-cache"
    running, client = start_daemon(tmp_path / "data", media_root, generator="default", backend="onnx",
                                   engine_cache_dir=str(cache))
    try:
        assert client.server_info().backend == "onnx"
        job = client.wait(client.submit(small, media_root / "dub.wav").id, 120)
        assert job.state == pb.SUCCEEDED, job.error.message
        assert job.result.frames == 25
        exported = list(cache.glob("*.onnx"))
        assert len(exported) == 1, sorted(cache.iterdir())
    finally:
        client.close()
        running.stop(0)
