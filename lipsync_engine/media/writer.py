"""Write a take: upright RGB frames at their source times -> encoded video, dub muxed, atomically.

Rotation: frames arrive upright (read_frames applied the source's display matrix), and they are
written upright with no rotation tag, so every player shows the take the right way up at the
source's display size.

Two passes, both streaming: frames are encoded into a hidden video-only temp file; finish() then
remuxes those packets (copied, not re-encoded) with the dub and the optional original audio,
interleaved by time, into a second hidden temp file that replaces the output atomically. The remux
is why the dub may arrive only at finish(); it costs one copy of the compressed video on disk.

Timing: every frame keeps its source pts (VFR stays VFR; constant-rate shots are written on their
exact 1/fps grid, so a millisecond Matroska clock becomes exact 1001/24000 steps in .mov/.mp4); the
dub's first sample plays at the first written frame's pts; the original audio keeps its own clock.
"""
from __future__ import annotations

import heapq
import shutil
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from lipsync_engine.errors import InputError, OutputError, RenderCancelled
from lipsync_engine.media.atomic import AtomicOutput, as_output_error, temp_path_beside
from lipsync_engine.media.audio_tracks import add_dub_track, add_file_track
from lipsync_engine.media.colour import (
    COLOR_PRIMARIES, COLOR_RANGE, COLOR_SPACE, COLOR_TRC, SWSCALE_SPACES, decoded_chroma_location, value_of,
)
from lipsync_engine.media.formats import EncoderSettings, encoder_settings, estimated_take_bytes
from lipsync_engine.media.native import ChangedRegion, keeps_native, patch_native
from lipsync_engine.media.probe import VideoInfo
from lipsync_engine.media.reader import rgb_format
from lipsync_engine.options import RenderOptions


class VideoWriter:
    """Context manager writing frames shaped like ``info`` (HxWx3, uint8 or uint16 as read_frames gives).

    ``with VideoWriter(out, info, options) as w: w.write(rgb, pts) ...; w.finish(dub_pcm)``.
    Leaving the block by an exception (or without finish()) removes every temp file and leaves
    ``out_path`` untouched. ``note`` says how the output deviates from the source, if it does.
    """

    def __init__(self, out_path: str | Path, info: VideoInfo, options: RenderOptions = RenderOptions()) -> None:
        self.info = info
        self.settings: EncoderSettings = encoder_settings(out_path, info, options)
        self.note = self.settings.note
        self.frames_written = 0
        self._output = AtomicOutput(out_path)
        _check_free_space(self._output.final, 2 * estimated_take_bytes(info, self.settings))  # two temp files
        self._video_temp = temp_path_beside(out_path, "video")
        self._rgb_format = rgb_format(info.bit_depth)
        self._dtype = np.uint8 if info.bit_depth <= 8 else np.uint16
        # constant-rate shots are written on their exact frame grid (a millisecond Matroska clock
        # would otherwise turn 24000/1001 into 41/42 ms steps); VFR shots keep the source clock
        self._time_base = info.time_base if info.is_vfr else 1 / info.fps
        self._first_pts: Fraction | None = None
        self._last_tick: int | None = None
        self._finished = False
        try:
            self._container = av.open(str(self._video_temp), "w", format=self.settings.muxer)
            self._stream = self._open_stream()
        except av.FFmpegError as exc:
            self._discard()
            raise InputError(f"cannot set up the {options.codec} encoder for '{out_path}' "
                             f"({exc}); choose another codec") from exc
        except OSError as exc:
            self._discard()
            raise as_output_error(exc, Path(out_path)) from exc

    def _open_stream(self) -> av.video.stream.VideoStream:
        info, settings = self.info, self.settings
        options = dict(settings.options)
        siting = decoded_chroma_location(info.codec)
        if siting is not None and settings.pix_fmt == info.pix_fmt:
            # the take carries the source's samples: tag their chroma siting, or players and decoders
            # would take them as centred and shift the colour by a quarter pixel
            options["chroma_sample_location"] = siting
        stream = self._container.add_stream(settings.encoder, rate=info.fps, options=options)
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, settings.pix_fmt
        ctx = stream.codec_context
        ctx.time_base = self._time_base
        stream.time_base = self._time_base
        ctx.thread_type = "AUTO"
        tags = ((COLOR_RANGE, info.color_range, "color_range"), (COLOR_PRIMARIES, info.color_primaries, "color_primaries"),
                (COLOR_TRC, info.color_trc, "color_trc"), (COLOR_SPACE, info.color_space, "colorspace"))
        for table, name, attribute in tags:
            value = value_of(table, name)
            if value is not None:
                setattr(ctx, attribute, value)
        ctx.open()  # now, so an encoder that refuses these settings fails here rather than at frame 0
        return stream

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._finished:
            self._discard()

    def write(self, rgb: np.ndarray, pts: Fraction, *, source: av.VideoFrame | None = None,
              changed: ChangedRegion | None = None) -> None:
        """Encode one upright frame ``rgb`` (HxWx3 uint8, or uint16 for deep sources) shown at ``pts`` seconds.

        ``pts`` values must increase; they are kept exactly (to the stream's time base), so VFR stays VFR.
        ``source``: the frame's native decoded samples (``Frame.native`` from ``read_frames(...,
        keep_native=True)``), with ``changed`` saying where ``rgb`` differs from the frame as read (None:
        nowhere). When the take keeps the source's pixel format, those samples are encoded as they are and
        only the changed pixels (luma) and their chroma blocks are converted from ``rgb``, so everything
        else is sample-identical to the source; ``source`` may be edited in place. Otherwise, and without
        ``source``, the whole of ``rgb`` is converted.
        """
        expected = (self.info.height, self.info.width, 3)
        if rgb.shape != expected or rgb.dtype != self._dtype:
            raise InputError(f"frame {self.frames_written} is {rgb.dtype} {rgb.shape}; this take needs "
                             f"{np.dtype(self._dtype).name} {expected}, as read_frames gives")
        tick = int(round(Fraction(pts) / self._time_base))
        if self._last_tick is not None and tick <= self._last_tick:
            raise InputError(f"frame {self.frames_written} has pts {float(pts):.6f} s, not after the previous "
                             f"frame; pass the frames' source pts in order")
        if self._first_pts is None:
            self._first_pts = Fraction(pts)
        if source is not None and self._keeps(source):
            frame = source if changed is None else patch_native(source, rgb, changed, self._to_output_format)
            frame.pict_type = av.video.frame.PictureType.NONE  # the source's frame types force nothing here
            self._tag(frame)
        else:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=self._rgb_format)
            frame = self._to_output_format(frame)
        frame.pts, frame.time_base = tick, self._time_base
        self._encode(frame)
        self._last_tick = tick
        self.frames_written += 1

    def _keeps(self, source: av.VideoFrame) -> bool:
        """Whether ``source``'s samples can go to the encoder as they are (same layout and size as the take)."""
        return (source.format.name == self.settings.pix_fmt and keeps_native(source)
                and (source.width, source.height) == (self.info.width, self.info.height))

    def _to_output_format(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Convert to the encoder's pixel format with the source's matrix and range, and tag the frame
        with the source's primaries and transfer (some encoders, ProRes among them, read frame tags)."""
        info, target = self.info, av.VideoFormat(self.settings.pix_fmt)
        if target.is_rgb:
            frame = frame.reformat(format=target.name)
        else:
            space = value_of(COLOR_SPACE, info.color_space)
            frame = frame.reformat(format=target.name, dst_colorspace=space if space in SWSCALE_SPACES else None,
                                   dst_color_range=value_of(COLOR_RANGE, info.color_range) or 1)
        self._tag(frame)
        return frame

    def _tag(self, frame: av.VideoFrame) -> None:
        """Tag ``frame`` with the source's primaries and transfer; set after any conversion, because given
        to reformat, FFmpeg 8 would convert the transfer (tone-map)."""
        frame.color_trc = value_of(COLOR_TRC, self.info.color_trc) or 2
        frame.color_primaries = value_of(COLOR_PRIMARIES, self.info.color_primaries) or 2

    def _encode(self, frame: av.VideoFrame | None) -> None:
        """Encode ``frame`` (None flushes) and mux the packets into the video temp file."""
        try:
            self._container.mux(self._stream.encode(frame))
        except OSError as exc:
            raise as_output_error(exc, self._output.final) from exc
        except av.FFmpegError as exc:
            raise OutputError(f"the {self.settings.encoder} encoder failed at frame {self.frames_written} of "
                              f"'{self._output.final}' ({exc}); nothing was written there") from exc

    def finish(self, audio: np.ndarray | None = None, original_audio_from: str | Path | None = None, *,
               dub_from: str | Path | None = None, dub_offset: Fraction = Fraction(0),
               cancel: threading.Event | None = None) -> Path:
        """Flush the encoder, mux the dub and the optional original audio, move the take into place.

        The dub is either ``audio``: float32 mono 16 kHz PCM whose first sample plays at the first
        frame's pts, muxed as given (the caller fits it to the video), or ``dub_from``: the dub file,
        whose first audio stream is copied at its own quality (the moment ``dub_offset`` seconds into it
        at the first frame's pts, cut at the last frame's end). ``original_audio_from``: a file whose
        first audio stream is kept as a second track, cut to the frames' time span on its own clock
        (for a range, the span the range has in the source). Returns the output path.
        ``cancel`` set during the remux raises RenderCancelled; nothing is left at the output path.
        """
        if audio is not None and dub_from is not None:
            raise InputError("pass the dub either as PCM (audio=) or as a file (dub_from=), not both")
        if self.frames_written == 0:
            raise InputError("no frames were written; a take needs at least one frame")
        self._encode(None)
        self._container.close()
        start = self._first_pts or Fraction(0)
        end = self._time_base * (self._last_tick or 0) + self.info.frame_duration
        try:
            with av.open(str(self._video_temp)) as src, \
                    av.open(str(self._output.temp), "w", format=self.settings.muxer) as out:
                sources = [self._copy_video(src, out)]
                codec = self.settings.audio_codec
                if audio is not None:
                    sources.append(add_dub_track(out, audio, codec, start))
                if dub_from is not None:
                    sources.append(add_file_track(out, dub_from, codec, first=dub_offset, last=dub_offset + end - start,
                                                  shift=start - dub_offset, title="Dub"))
                if original_audio_from is not None:
                    origin = self.info.range_start  # the frames' pts are the source's, less this
                    sources.append(add_file_track(out, original_audio_from, codec, first=start + origin,
                                                  last=end + origin, shift=-origin, title="Original"))
                for packet in heapq.merge(*sources, key=_dts_seconds):
                    if cancel is not None and cancel.is_set():
                        raise RenderCancelled(f"cancelled while muxing '{self._output.final}'; nothing was "
                                              f"written there")
                    out.mux(packet)
            final = self._output.commit()
        except OSError as exc:
            raise as_output_error(exc, self._output.final) from exc
        except av.FFmpegError as exc:
            raise OutputError(f"cannot mux the take '{self._output.final}' ({exc}); nothing was written "
                              f"there") from exc
        finally:
            self._video_temp.unlink(missing_ok=True)
        self._finished = True
        return final

    def _copy_video(self, src: av.container.InputContainer, out: av.container.OutputContainer) -> Iterator[av.Packet]:
        """Add the encoded video to the take with its timecode; return its packets, copied unchanged."""
        video_in = src.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        video_out.time_base = video_in.time_base
        video_out.codec_context.framerate = self.info.fps  # the mov muxer's timecode track needs the rate
        if self.info.timecode:
            video_out.metadata["timecode"] = self.info.timecode
            out.metadata["timecode"] = self.info.timecode
        return _stream_copy(src, video_in, video_out)

    def _discard(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, OSError):
                pass  # the file is being thrown away
        self._video_temp.unlink(missing_ok=True)
        self._output.discard()


def _check_free_space(final: Path, needed: int) -> None:
    free = shutil.disk_usage(final.parent).free
    if free < needed:
        raise OutputError(f"not enough disk space for '{final}': writing the take needs about "
                          f"{needed / 1e6:.0f} MB and {free / 1e6:.0f} MB are free; free space or write the "
                          f"take to another drive")


def _stream_copy(src: av.container.InputContainer, video_in: av.video.stream.VideoStream,
                 video_out: av.video.stream.VideoStream) -> Iterator[av.Packet]:
    for packet in src.demux(video_in):
        if packet.size == 0:
            continue
        packet.stream = video_out
        yield packet


def _dts_seconds(packet: av.Packet) -> Fraction:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return Fraction(stamp or 0) * Fraction(packet.time_base)

