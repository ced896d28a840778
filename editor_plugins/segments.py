"""Cut the part of a shot and of a dub that an editor's clip uses, so the daemon renders just that.

The daemon renders whole files; a timeline clip uses a source range of its media and a stretch of the dub.
``cut_video`` copies frames [start, end) losslessly (FFV1 in Matroska, the source's pixel format, rate and
time base kept); ``cut_audio`` copies a stretch of the dub to PCM WAV at its own rate and layout. Both
stream with bounded memory, write atomically (temp beside the target, fsync, rename) and skip the work
when the target already exists, so a rerun costs nothing.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av

from lipsync_engine.errors import AudioError, MediaError
from lipsync_engine.media.opening import open_media

FFV1_PIX_FMTS = ("yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le", "gray",
                 "yuv420p12le", "yuv444p12le", "gbrp", "gbrp10le", "rgb48le")


def _commit(tmp: Path, target: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def video_rate(path: Path) -> Fraction:
    """Nominal frame rate of the first video stream, exact (e.g. 24000/1001)."""
    with open_media(path, MediaError, "video") as container:
        if not container.streams.video:
            raise MediaError(f"'{path}' has no video stream; pass the shot's video file")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise MediaError(f"'{path}' does not state a frame rate; re-wrap it as .mov or .mkv")
        return Fraction(rate)


def cut_video(src: Path, start: int, end: int, out: Path) -> Path:
    """Frames [start, end) (0-based, presentation order) of ``src`` -> lossless ``out`` (.mkv)."""
    if out.exists():
        return out
    if not 0 <= start < end:
        raise MediaError(f"source range {start}-{end} of '{src}' is empty or negative; the clip needs frames")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name("." + out.name + ".part")
    written = 0
    with open_media(src, MediaError, "video") as source, av.open(str(tmp), "w", format="matroska") as sink:
        if not source.streams.video:
            raise MediaError(f"'{src}' has no video stream; pass the shot's video file")
        stream = source.streams.video[0]
        rate = Fraction(stream.average_rate or stream.guessed_rate)
        first_pts = stream.start_time or 0
        pix_fmt = stream.codec_context.pix_fmt if stream.codec_context.pix_fmt in FFV1_PIX_FMTS else "yuv444p"
        target = sink.add_stream("ffv1", rate=rate)
        target.width, target.height, target.pix_fmt = stream.width, stream.height, pix_fmt
        target.codec_context.time_base = 1 / rate  # frames carry pts in 1/rate; the muxer rescales
        if start > 0:
            source.seek(first_pts + int(Fraction(start) / rate / stream.time_base), stream=stream, backward=True)
        for frame in source.decode(stream):
            index = round((Fraction(frame.pts - first_pts) * stream.time_base) * rate)
            if index < start:
                continue
            if index >= end:
                break
            frame = frame.reformat(format=pix_fmt) if frame.format.name != pix_fmt else frame
            frame.pts, frame.time_base = written, 1 / rate
            sink.mux(target.encode(frame))
            written += 1
        sink.mux(target.encode(None))
    if written != end - start:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"'{src}' has only {start + written} frames but the clip uses frames up to {end - 1}; "
                         f"relink the clip to the complete media")
    _commit(tmp, out)
    return out


def cut_audio(src: Path, start_s: float, duration_s: float, out: Path, tolerance_s: float = 0.05) -> Path:
    """``duration_s`` seconds of ``src`` from ``start_s`` -> PCM WAV ``out`` at the source's rate and layout.

    AudioError when the dub ends more than ``tolerance_s`` before the clip does (audio shorter than clip).
    """
    if out.exists():
        return out
    if start_s < 0:
        raise AudioError(f"the clip starts {-start_s:.3f} s before the dub '{src}' begins; "
                         f"move the dub earlier or trim the clip")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name("." + out.name + ".part")
    with open_media(src, AudioError, "dub audio") as source:
        if not source.streams.audio:
            raise AudioError(f"'{src}' has no audio stream; pass the dubbed speech file")
        stream = source.streams.audio[0]
        rate = stream.codec_context.sample_rate
        layout = "mono" if stream.codec_context.channels == 1 else "stereo"
        first, wanted = round(start_s * rate), round(duration_s * rate)
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        taken = 0
        with av.open(str(tmp), "w", format="wav") as sink:
            target = sink.add_stream("pcm_s16le", rate=rate, layout=layout)
            position = 0
            for frame in source.decode(stream):
                for chunk in resampler.resample(frame):
                    samples = chunk.to_ndarray()  # (1, n * channels) interleaved s16
                    channels = len(chunk.layout.channels)
                    n = samples.shape[1] // channels
                    lo, hi = max(first - position, 0), min(first + wanted - position, n)
                    position += n
                    if hi <= lo:
                        continue
                    piece = av.AudioFrame.from_ndarray(samples[:, lo * channels:hi * channels], format="s16",
                                                       layout=layout)
                    piece.sample_rate, piece.pts = rate, taken
                    sink.mux(target.encode(piece))
                    taken += hi - lo
                if position >= first + wanted:
                    break
            sink.mux(target.encode(None))
    if taken < wanted - tolerance_s * rate:
        tmp.unlink(missing_ok=True)
        raise AudioError(f"the dub '{src}' ends at {(first + taken) / rate:.2f} s but the clip needs audio "
                         f"up to {start_s + duration_s:.2f} s; the audio is shorter than the clip: extend "
                         f"the dub or shorten the clip")
    _commit(tmp, out)
    return out
