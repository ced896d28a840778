"""Make small real media files for tests with PyAV: videos (synthetic or cut from ../shared/data),
audio files, truncated copies. Shared by every test area; nothing here fakes a component.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"


def shared_data() -> Path | None:
    """The shared clip folder beside the repo (``../shared/data``), or None when it is absent."""
    return SHARED_DATA.resolve() if (SHARED_DATA / "clips").is_dir() else None


def pattern_frames(count: int, width: int, height: int, dtype: type = np.uint8) -> list[np.ndarray]:
    """``count`` HxWx3 RGB frames: smooth gradients that move per frame, plus a red block at the top-left
    corner and a green one at the top-right, so orientation and frame order can be checked."""
    top = 255 if dtype == np.uint8 else 65535
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = []
    for i in range(count):
        rgb = np.stack([(xs / max(width - 1, 1) + i * 0.03) % 1.0, ys / max(height - 1, 1),
                        0.5 + 0.4 * np.sin((xs + ys) / 9.0 + i * 0.5)], axis=-1)
        frame = (rgb * top).astype(dtype)
        bw, bh = max(2, width // 6), max(2, height // 6)
        frame[:bh, :bw] = (top, 0, 0)
        frame[:bh, -bw:] = (0, top, 0)
        frames.append(frame)
    return frames


def clip_frames(source: str | Path, start: float = 0.0, count: int = 25,
                size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """``count`` RGB uint8 frames of ``source`` from ``start`` seconds, resized to ``size`` (w, h) if given."""
    import cv2

    frames = []
    with av.open(str(source)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time + 1e-6 < start:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            if size is not None and (rgb.shape[1], rgb.shape[0]) != size:
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
            frames.append(rgb)
            if len(frames) == count:
                break
    return frames


def make_video(path: str | Path, frames: Sequence[np.ndarray], *, fps: Fraction = Fraction(25),
               codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int = 0, timecode: str | None = None,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None,
               audio: np.ndarray | None = None, audio_rate: int = 48000, audio_codec: str = "aac",
               audio_start: float = 0.0,
               color: dict[str, int] | None = None, options: dict[str, str] | None = None,
               container_options: dict[str, str] | None = None) -> Path:
    """Encode RGB ``frames`` (HxWx3 uint8, or uint16 for rgb48le input) to ``path`` and return it.

    ``rotation``: display-matrix angle (counter-clockwise, as VideoFrame.rotation reads it); frames are
    given as they should be stored. ``pts``: per-frame timestamps in ``time_base`` (VFR); default i/fps.
    ``audio``: float32 (samples,) or (samples, channels) at ``audio_rate``, starting at ``audio_start`` s.
    ``color``: codec-context colour tags, e.g. {"color_primaries": 9, "color_trc": 16, "colorspace": 9,
    "color_range": 1}.
    """
    path = Path(path)
    time_base = time_base or 1 / Fraction(fps)
    src_fmt = "rgb48le" if frames[0].dtype == np.uint16 else "rgb24"
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=Fraction(fps), options=options or _quiet(codec))
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        for attribute, value in (color or {}).items():
            setattr(stream.codec_context, attribute, value)
        if rotation:
            stream.set_display_rotation(rotation)
        if timecode:
            stream.metadata["timecode"] = timecode
        audio_stream = _add_audio(out, audio, audio_rate, audio_codec) if audio is not None else None
        space = (color or {}).get("colorspace")
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format=src_fmt)
            frame = frame.reformat(format=pix_fmt, dst_colorspace=space if space in (1, 5, 6, 9) else None,
                                   dst_color_range=(color or {}).get("color_range"))
            frame.color_trc = (color or {}).get("color_trc", 2)  # tag only: never a transfer conversion
            frame.color_primaries = (color or {}).get("color_primaries", 2)
            frame.pts = int(pts[i]) if pts is not None else int(round(i / Fraction(fps) / time_base))
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio_stream is not None:
            _write_audio(out, audio_stream, audio, audio_rate, first=int(round(audio_start * audio_rate)))
    return path


def make_audio(path: str | Path, pcm: np.ndarray, rate: int, codec: str = "pcm_s16le") -> Path:
    """Encode float32 ``pcm`` (samples,) or (samples, channels) at ``rate`` Hz to ``path`` with ``codec``
    (pcm_s16le/pcm_f32le in .wav, libmp3lame in .mp3, aac in .m4a/.mp4, flac in .flac)."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        stream = _add_audio(out, pcm, rate, codec)
        _write_audio(out, stream, pcm, rate)
    return path


def _add_audio(out: av.container.OutputContainer, pcm: np.ndarray, rate: int, codec: str) -> av.AudioStream:
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[channels]
    return out.add_stream(codec, rate=rate, layout=layout)


def _write_audio(out: av.container.OutputContainer, stream: av.AudioStream, pcm: np.ndarray, rate: int,
                 first: int = 0) -> None:
    planar = np.ascontiguousarray((pcm[:, None] if pcm.ndim == 1 else pcm).T.astype(np.float32))
    layout = stream.codec_context.layout.name
    for offset in range(0, planar.shape[1], rate):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, offset:offset + rate]), format="fltp",
                                           layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, first + offset, Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def truncate(path: str | Path, keep: float, out: str | Path) -> Path:
    """Copy the first ``keep`` fraction (0-1) of ``path``'s bytes to ``out``: a cut-off transfer."""
    data = Path(path).read_bytes()
    Path(out).write_bytes(data[: int(len(data) * keep)])
    return Path(out)


def speech_like(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """float32 mono: voiced, syllable-rate modulated harmonics (an 'ah-ah-ah' at about 4 Hz) at about
    -20 dBFS; a stand-in when no real speech is needed."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    return (0.1 * voiced * envelope + 0.001 * rng.standard_normal(t.size)).astype(np.float32)


def unusable_files(folder: str | Path, suffix: str) -> list[tuple[Path, str]]:
    """Paths no media reader may accept, each with a regex its error message must match: a missing
    file, an empty file, a text file named like media (``suffix``) and a folder."""
    folder = Path(folder)
    (folder / f"empty{suffix}").write_bytes(b"")
    (folder / f"notes{suffix}").write_text("this is not media\n" * 50)
    (folder / f"folder{suffix}").mkdir(exist_ok=True)
    return [(folder / f"missing{suffix}", "not found"), (folder / f"empty{suffix}", "empty"),
            (folder / f"notes{suffix}", "not a readable media file|not in an accepted container"),
            (folder / f"folder{suffix}", "not a regular file")]


def _quiet(codec: str) -> dict[str, str]:
    return {"x265-params": "log-level=error"} if codec == "libx265" else {}

