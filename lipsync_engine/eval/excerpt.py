"""Cut the start of a real clip into a new file with PyAV (test fixtures, render checks)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.errors import MediaError

# codec name -> (video encoder, pixel format, encoder options, audio encoder)
FORMATS = {
    "h264": ("libx264", "yuv420p", {"crf": "12"}, "aac"),
    "ffv1_rgb": ("ffv1", "bgr0", {}, "pcm_s16le"),  # lossless RGB: decoded RGB round-trips exactly
}


def cut_excerpt(src: str | Path, dst: str | Path, seconds: float, codec: str = "h264") -> Path:
    """Re-encode the first ``seconds`` of ``src`` (first video stream + its audio, mono) to ``dst``.

    ``codec`` is a key of FORMATS; use an .mp4 for h264 and an .mkv for ffv1_rgb. Frame rate and size are kept.
    """
    if codec not in FORMATS:
        raise MediaError(f"excerpt codec '{codec}' is unknown; use one of {', '.join(FORMATS)}")
    encoder, pix_fmt, options, audio_encoder = FORMATS[codec]
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        if not inp.streams.video or not inp.streams.audio:
            raise MediaError(f"'{src}' needs a video and an audio stream to cut an excerpt")
        vin, ain = inp.streams.video[0], inp.streams.audio[0]
        fps = Fraction(vin.average_rate)
        vout = out.add_stream(encoder, rate=fps)
        vout.width, vout.height, vout.pix_fmt, vout.options = vin.width, vin.height, pix_fmt, options
        aout = out.add_stream(audio_encoder, rate=ain.rate, layout="mono")
        frames = int(seconds * fps)
        for i, frame in enumerate(inp.decode(vin)):
            if i >= frames:
                break
            new = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            new.pts, new.time_base = i, 1 / fps
            out.mux(vout.encode(new))
        out.mux(vout.encode(None))
        inp.seek(0)
        sample_fmt = aout.codec_context.format.name
        resampler = av.AudioResampler(format="flt", layout="mono", rate=ain.rate)
        pcm = []
        for frame in inp.decode(inp.streams.audio[0]):
            frame.pts = None
            pcm += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        signal = np.concatenate(pcm)[: int(seconds * ain.rate)]
        to_codec = av.AudioResampler(format=sample_fmt, layout="mono", rate=ain.rate)
        for start in range(0, len(signal), 1024):
            chunk = av.AudioFrame.from_ndarray(signal[None, start:start + 1024].astype(np.float32), format="flt",
                                               layout="mono")
            chunk.sample_rate, chunk.pts = ain.rate, start
            for converted in to_codec.resample(chunk):
                out.mux(aout.encode(converted))
        out.mux(aout.encode(None))
    return Path(dst)
