"""Which encoder, pixel format, container and audio codec a take is written with.

Policy (the writer and benchmarks/bench_transcode.py both use :func:`encoder_settings`):
- h264 (libx264, CRF = RenderOptions.quality, preset medium) and h265 (libx265, same CRF) keep the
  source's chroma subsampling and bit depth (10-bit -> yuv4xxp10le: High 10 / Main 10).
  4:2:0 and 4:2:2 cannot code an odd width or height in H.264/H.265 (cropping is in 2-pixel units),
  so an odd-sized source is written 4:4:4 at its exact size (High 4:4:4 / Main 4:4:4): nothing is
  padded or cropped, but fewer hardware players decode 4:4:4; prefer ProRes or FFV1 for such shots.
- prores (prores_ks): HQ profile, yuv422p10le; 4:4:4 or RGB sources get 4444 (yuv444p10le).
- ffv1 (lossless): RGB sources stay RGB (bgr0 for 8-bit, gbrpNNle for deeper), so an RGB round trip
  is bit-exact; YUV sources keep their pixel format.
- Containers by extension: .mp4/.mov/.mkv for h264/h265, .mov/.mkv for prores, .mkv for ffv1.
- Audio: AAC 48 kHz for h264/h265, 16-bit PCM 48 kHz for prores/ffv1 (mastering formats).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from lipsync_engine.errors import InputError
from lipsync_engine.media.probe import VideoInfo
from lipsync_engine.options import CODECS, RenderOptions

ENCODERS = {"h264": "libx264", "h265": "libx265", "prores": "prores_ks", "ffv1": "ffv1"}
MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
CONTAINERS_OF_CODEC = {"h264": (".mp4", ".mov", ".mkv"), "h265": (".mp4", ".mov", ".mkv"),
                       "prores": (".mov", ".mkv"), "ffv1": (".mkv",)}
AUDIO_RATE = 48000
# Typical bits per pixel of a take, for the disk-space check (ProRes HQ: 220 Mbps at 1080p29.97;
# H.264/H.265 at CRF 18: well under 0.5 on camera footage); for FFV1 the share of the raw size.
BITS_PER_PIXEL = {"h264": 0.5, "h265": 0.4, "prores": 3.6, "prores4444": 5.4, "ffv1": 0.6}


@dataclass(frozen=True)
class EncoderSettings:
    """Everything needed to open the video encoder and the muxer of a take."""

    encoder: str  # FFmpeg encoder name
    pix_fmt: str
    options: dict[str, str]  # encoder private options
    muxer: str  # FFmpeg muxer name
    audio_codec: str  # encoder of the dub track
    note: str | None = None  # a deviation from the source a person should know about


def encoder_settings(out_path: str | Path, info: VideoInfo, options: RenderOptions) -> EncoderSettings:
    """Choose encoder, pixel format and container for writing ``info``'s frames to ``out_path``.

    Raises InputError for an unknown codec or a codec the output's extension cannot hold.
    """
    codec = options.codec
    if codec not in CODECS:
        raise InputError(f"unknown codec '{codec}'; choose one of {', '.join(CODECS)}")
    suffix = Path(out_path).suffix.lower()
    if suffix not in CONTAINERS_OF_CODEC[codec]:
        raise InputError(f"codec '{codec}' cannot be written to a '{suffix or 'extension-less'}' file; "
                         f"use {' or '.join(CONTAINERS_OF_CODEC[codec])} for {codec}")
    pix_fmt, note = _pix_fmt(codec, info)
    return EncoderSettings(
        encoder=ENCODERS[codec], pix_fmt=pix_fmt, options=_encoder_options(codec, pix_fmt, options),
        muxer=MUXERS[suffix], audio_codec="aac" if codec in ("h264", "h265") else "pcm_s16le", note=note)


def _encoder_options(codec: str, pix_fmt: str, options: RenderOptions) -> dict[str, str]:
    if codec == "h264":
        return {"crf": str(options.quality), "preset": "medium"}
    if codec == "h265":
        return {"crf": str(options.quality), "preset": "medium", "x265-params": "log-level=error"}
    if codec == "prores":
        return {"profile": "4444" if pix_fmt.startswith("yuv444") else "hq", "vendor": "apl0"}
    return {"level": "3", "slicecrc": "1", "g": "1"}  # ffv1: intra-only, checksummed slices


def _pix_fmt(codec: str, info: VideoInfo) -> tuple[str, str | None]:
    source = av.VideoFormat(info.pix_fmt)
    deep = info.bit_depth > 8
    if codec == "ffv1":
        if source.is_rgb:
            return ("gbrp16le" if info.bit_depth > 12 else f"gbrp{max(info.bit_depth, 10)}le") if deep else "bgr0", None
        if source.name in [f.name for f in av.Codec("ffv1", "w").video_formats]:
            return source.name, None
        return ("yuv444p16le" if deep else "yuv444p"), f"ffv1 cannot hold {source.name}; written as 4:4:4"
    chroma = _chroma(source)
    if codec == "prores":
        return ("yuv444p10le" if chroma == "444" else "yuv422p10le"), (
            None if deep else f"8-bit {source.name} source written as 10-bit ProRes (lossless widening)")
    odd = info.width % 2 or info.height % 2
    note = None
    if odd and chroma != "444":
        chroma = "444"
        note = (f"odd size {info.width}x{info.height} cannot be coded 4:2:0/4:2:2 in {codec}; written 4:4:4 "
                f"at the exact size (fewer players decode it; ProRes or FFV1 avoid this)")
    depth = "" if not deep else ("12le" if codec == "h265" and info.bit_depth >= 12 else "10le")
    if deep and codec == "h264" and info.bit_depth > 10:
        note = f"{info.bit_depth}-bit source written as 10-bit H.264 (libx264's deepest)"
    return f"yuv{chroma}p{depth}", note


def _chroma(fmt: av.VideoFormat) -> str:
    if fmt.is_rgb or len(fmt.components) < 3:
        return "444"
    wide, tall = fmt.chroma_width(64) < 64, fmt.chroma_height(64) < 64
    return "420" if wide and tall else ("422" if wide else "444")


def estimated_take_bytes(info: VideoInfo, settings: EncoderSettings) -> int:
    """Rough size in bytes of a take of ``info`` written with ``settings`` (for free-space checks).

    FFV1 is taken as 60 % of the raw pixel data; the others use typical bit rates.
    """
    pixels = info.width * info.height * info.frame_count
    codec = next(name for name, encoder in ENCODERS.items() if encoder == settings.encoder)
    if codec == "ffv1":
        bits = BITS_PER_PIXEL["ffv1"] * av.VideoFormat(settings.pix_fmt).bits_per_pixel
    else:
        bits = BITS_PER_PIXEL["prores4444" if settings.options.get("profile") == "4444" else codec]
    audio = float(info.duration) * AUDIO_RATE * 2 * 2 * 3  # up to three 16-bit stereo tracks
    return int(pixels * bits / 8 + audio)
