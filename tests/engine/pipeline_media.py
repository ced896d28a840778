"""Small real media for the pipeline tests, cut from ../shared/data clips with PyAV at test time."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / "../shared/data"
CLIPS = DATA / "clips"
FACE_CLIP = CLIPS / "grid_bbaf2n.mp4"  # 360x288 frontal studio face, 25 fps, 3 s
OTHER_CLIP = CLIPS / "grid_lbbc2a.mp4"  # another speaker, same framing

needs_data = pytest.mark.skipif(not FACE_CLIP.is_file(), reason=f"development clips not found at {CLIPS.resolve()}")

CODECS = {"h264": ("libx264", "yuv420p"), "ffv1": ("ffv1", "bgr0"), "prores": ("prores_ks", "yuv422p10le")}


def source_frames(clip: Path, count: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The first ``count`` frames of ``clip`` as HxWx3 uint8 RGB, resized to ``size`` (w, h) if given."""
    frames = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")
            frames.append(rgb if size is None else cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    return frames


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: Fraction = Fraction(25),
    codec: str = "h264",
    timecode: str | None = None,
    pts_steps: list[int] | None = None,
    audio: np.ndarray | None = None,
) -> Path:
    """Encode HxWx3 uint8 RGB frames. ``pts_steps`` (in 1/(fps*2) ticks) makes variable frame timing;
    ``audio`` (float32 mono 16 kHz) adds an AAC track."""
    name, pix_fmt = CODECS[codec]
    with av.open(str(path), "w") as out:
        if timecode:
            out.metadata["timecode"] = timecode
        stream = out.add_stream(name, rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        stream.codec_context.time_base = stream.time_base = 1 / (fps * 2)
        if timecode:
            stream.metadata["timecode"] = timecode
        sound = None if audio is None else _audio_stream(out, 16000, 1, "aac")
        pts = 0
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts
            frame.time_base = stream.codec_context.time_base
            pts += 2 if pts_steps is None else pts_steps[i]
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            _mux_audio(out, sound, audio)
    return path


def write_audio(path: Path, pcm: np.ndarray, rate: int = 16000, channels: int = 1, codec: str = "pcm_s16le") -> Path:
    """Write float32 PCM (samples,) at ``rate`` as ``channels`` identical channels with ``codec``."""
    with av.open(str(path), "w") as out:
        _mux_audio(out, _audio_stream(out, rate, channels, codec), pcm)
    return path


def clip_speech(clip: Path = FACE_CLIP, seconds: float = 1.0, rate: int = 16000) -> np.ndarray:
    """The first ``seconds`` of a clip's speech as float32 mono at ``rate``."""
    chunks = []
    with av.open(str(clip)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks)[: int(seconds * rate)].astype(np.float32)


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a video as HxWx3 uint8 RGB."""
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _audio_stream(out: av.container.OutputContainer, rate: int, channels: int, codec: str) -> av.audio.AudioStream:
    return out.add_stream(codec, rate=rate, layout="mono" if channels == 1 else "stereo")


def _mux_audio(out: av.container.OutputContainer, stream: av.audio.AudioStream, pcm: np.ndarray) -> None:
    fmt, layout, rate = stream.codec_context.format.name, stream.codec_context.layout.name, stream.codec_context.sample_rate
    data = np.repeat(np.asarray(pcm, np.float32)[None], stream.codec_context.channels, axis=0)
    integer = {"s16": np.int16, "s32": np.int32}.get(fmt.rstrip("p"))
    if integer is not None:
        data = (np.clip(data, -1, 1) * np.iinfo(integer).max).astype(integer)
    planar = fmt.endswith("p")
    chunk = stream.codec_context.frame_size or 1024
    for offset in range(0, data.shape[1], chunk):
        part = data[:, offset:offset + chunk]
        array = part if planar else part.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=fmt, layout=layout)
        frame.sample_rate, frame.pts = rate, offset
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
