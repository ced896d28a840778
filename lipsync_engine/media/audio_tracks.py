"""Audio streams of a take: the dub, either as 16 kHz mono float32 PCM (encoded to AAC/PCM 48 kHz) or
as the dub file itself, and optionally the shot's original audio; files are stream-copied when the
container can hold their codec, else re-encoded.

Each function adds its stream to the output container and returns a lazy iterator of packets, so
the writer can interleave them with the video by time without holding a track in memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from lipsync_engine.errors import AudioError, MediaError
from lipsync_engine.media.formats import AUDIO_RATE
from lipsync_engine.media.opening import open_media

SAMPLE_RATE = 16000  # of the dub PCM: lipsync_engine.audio.SAMPLE_RATE (not imported: audio imports media)
CHUNK = SAMPLE_RATE  # dub samples per encoded chunk (one second)
PCM_BYTES = {"pcm_s16le": 2, "pcm_s24le": 3}  # copied PCM codecs: bytes per sample of one channel


def add_dub_track(out: av.container.OutputContainer, pcm: np.ndarray, codec: str,
                  start: Fraction) -> Iterator[av.Packet]:
    """Add the dub stream to ``out``; its first sample plays at ``start`` seconds (the first frame's pts).

    ``pcm``: (samples,) float32 mono at 16 kHz, about [-1, 1]; values outside are clipped.
    """
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or pcm.dtype != np.float32:
        raise AudioError(f"dub PCM must be float32 mono (samples,), got {pcm.dtype} {pcm.shape}; "
                         f"decode it with lipsync_engine.audio.load_audio")
    if not np.isfinite(pcm).all():
        raise AudioError("dub PCM contains NaN or infinite samples; decode the speech again")
    stream = out.add_stream(codec, rate=AUDIO_RATE, layout="mono")
    stream.metadata["handler_name"] = "Dub"
    first = int(round(start * SAMPLE_RATE))
    return _encode_chunks(stream, np.clip(pcm, -1.0, 1.0), first)


def _encode_chunks(stream: av.audio.stream.AudioStream, pcm: np.ndarray, first: int) -> Iterator[av.Packet]:
    for offset in range(0, pcm.size, CHUNK):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[None, offset:offset + CHUNK]),
                                           format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = first + offset
        yield from stream.encode(frame)
    yield from stream.encode(None)


def add_file_track(out: av.container.OutputContainer, source: str | Path, codec: str, *, first: Fraction,
                   last: Fraction, shift: Fraction = Fraction(0), title: str) -> Iterator[av.Packet]:
    """Add the first audio stream of ``source`` to ``out``: the part between ``first`` and ``last`` seconds
    on the source's clock, played ``shift`` seconds later in the take.

    AAC, and 16/24-bit PCM outside .mp4, are copied unchanged, so the delivered audio keeps its full
    quality; anything else is decoded and re-encoded with ``codec`` at 48 kHz, keeping its channel
    layout. PCM and decoded audio start exactly at ``first``; AAC is cut on packet boundaries (about
    21 ms), taking the packet across ``first`` unless it would start before the take's time 0. The end
    is cut on packet boundaries.
    """
    container = open_media(source, MediaError, title.lower() + " audio")
    if not container.streams.audio:
        container.close()
        raise MediaError(f"'{source}' has no audio stream to use as the {title.lower()} track; pass a file "
                         f"with audio")
    src = container.streams.audio[0]
    name = src.codec_context.name
    if name == "aac" or (name in PCM_BYTES and out.format.name != "mp4"):
        stream = out.add_stream_from_template(src)
        packets = _copied(container, src, stream, first, last, shift)
    else:
        stream = out.add_stream(codec, rate=AUDIO_RATE, layout=_encodable_layout(src.codec_context.layout))
        packets = _reencoded(container, src, stream, first, last, shift)
    stream.metadata["handler_name"] = title
    return packets


# Standard layouts by channel count, for sources without a channel mask (a plain mono WAV reads as "1 channels",
# which the AAC encoder refuses to open).
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _encodable_layout(layout: av.AudioLayout) -> str:
    return _DEFAULT_LAYOUTS.get(layout.nb_channels, layout.name) if layout.name.endswith("channels") else layout.name


def _inside(begin: Fraction, length: Fraction, first: Fraction, last: Fraction) -> bool | None:
    """True when [begin, begin + length) overlaps [first, last); None once past ``last``."""
    if begin >= last:
        return None
    return begin + length > first


def _copied(container: av.container.InputContainer, src: av.audio.stream.AudioStream,
            stream: av.audio.stream.AudioStream, first: Fraction, last: Fraction,
            shift: Fraction) -> Iterator[av.Packet]:
    with container:
        ticks = int(round(shift / Fraction(src.time_base)))
        frame_bytes = PCM_BYTES.get(src.codec_context.name, 0) * src.codec_context.channels
        for packet in container.demux(src):
            if packet.pts is None or packet.size == 0:
                continue
            tb = Fraction(packet.time_base)
            begin = packet.pts * tb
            inside = _inside(begin, Fraction(packet.duration or 0) * tb, first, last)
            if inside is None:
                break
            if inside and begin < first:  # across the cut
                if frame_bytes:
                    packet = _pcm_from(packet, int(round((first - begin) * src.codec_context.sample_rate)),
                                       frame_bytes, src.codec_context.sample_rate)
                elif packet.pts + ticks < 0:
                    continue  # would start before the take does
            if inside:
                packet.pts += ticks
                packet.dts = packet.dts + ticks if packet.dts is not None else None
                packet.stream = stream
                yield packet


def _pcm_from(packet: av.Packet, skip: int, frame_bytes: int, rate: int) -> av.Packet:
    """A PCM ``packet`` without its first ``skip`` sample frames (``frame_bytes`` each), timed to match."""
    tb = Fraction(packet.time_base)
    trimmed = av.Packet(bytes(packet)[skip * frame_bytes:])
    advance = int(round(Fraction(skip, rate) / tb))
    trimmed.time_base = packet.time_base
    trimmed.pts = packet.pts + advance
    trimmed.dts = trimmed.pts
    trimmed.duration = max(0, (packet.duration or 0) - advance)
    return trimmed


def _reencoded(container: av.container.InputContainer, src: av.audio.stream.AudioStream,
               stream: av.audio.stream.AudioStream, first: Fraction, last: Fraction,
               shift: Fraction) -> Iterator[av.Packet]:
    with container:
        for frame in container.decode(src):
            if frame.pts is None:
                continue
            tb = Fraction(frame.time_base)
            begin = frame.pts * tb
            inside = _inside(begin, Fraction(frame.samples, frame.sample_rate), first, last)
            if inside is None:
                break
            if inside:
                if begin < first:  # across the cut: start at ``first`` exactly
                    frame = _samples_from(frame, int(round((first - begin) * frame.sample_rate)))
                frame.pts += int(round(shift / tb))
                yield from stream.encode(frame)
        yield from stream.encode(None)


def _samples_from(frame: av.AudioFrame, skip: int) -> av.AudioFrame:
    """A decoded ``frame`` without its first ``skip`` samples, timed to match."""
    samples = frame.to_ndarray()
    channels = 1 if frame.format.is_planar else frame.layout.nb_channels
    trimmed = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, skip * channels:]), format=frame.format.name,
                                         layout=frame.layout)
    trimmed.sample_rate, trimmed.time_base = frame.sample_rate, frame.time_base
    trimmed.pts = frame.pts + int(round(Fraction(skip, frame.sample_rate) / Fraction(frame.time_base)))
    return trimmed
