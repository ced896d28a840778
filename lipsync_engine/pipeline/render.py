"""render_video: a whole shot and a dub track in, a take with a new mouth out (streaming, atomic)."""
from __future__ import annotations

import os
import threading
import time
from fractions import Fraction
from functools import partial
from itertools import islice
from pathlib import Path

import numpy as np

from lipsync_engine.audio import load_audio
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.faces.align import align_face
from lipsync_engine.faces.tracker import ShotTrack
from lipsync_engine.generator.base import ActorProfile, Generator
from lipsync_engine.generator.loader import load_generator
from lipsync_engine.media import Frame, VideoInfo, VideoWriter, probe_video, read_frames
from lipsync_engine.options import BLEND_MODES, CODECS, SILENCE_MODES, RenderOptions, RenderReport
from lipsync_engine.pipeline.compose import Compositor, blend_device
from lipsync_engine.pipeline.progress import ProgressCallback, StageMeter
from lipsync_engine.pipeline.qa import SyncRecorder, SyncVerdict
from lipsync_engine.pipeline.schedule import describe, edit_strength, passthrough_segments
from lipsync_engine.pipeline.shot import ShotPass, first_pass, profile_samples, resample_valid
from lipsync_engine.pipeline.stages import Stages, frame_queue_depth
from lipsync_engine.pipeline.speech import FrameSpeech, dub_from, fit_to_shot, frame_centres, speech_for_frames

PathLike = str | os.PathLike


def render_video(
    video: PathLike,
    audio: PathLike,
    out: PathLike,
    generator: Generator | None = None,
    options: RenderOptions = RenderOptions(),
    *,
    actor: ActorProfile | PathLike | None = None,
    track: ShotTrack | PathLike | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    video_range: tuple[int, int] | None = None,
    audio_offset_s: float | None = None,
) -> RenderReport:
    """Render a take of ``video`` whose mouth follows ``audio``; write it atomically to ``out``.

    The take has the shot's frame count, frame rate, size, timecode and colour tags; the dub (fitted to
    the shot per ``options.audio_policy``) is its audio. Frames without a usable face pass through
    bit-exact and are listed in the report. ``actor`` is a prepared actor profile (or its file) to use
    instead of the quick profile from the shot itself. ``track`` is a ShotTrack, or the path of a
    track cache (.npz) that is read when it exists and written when it does not, so several languages
    of one shot are tracked once. Memory stays bounded whatever the shot's length.

    ``video_range``: (first frame, frame count), 0-based source frames, to render only that range (a
    timeline clip's source range): the take is those frames, with the source timecode of the first.
    A track cache then belongs to that range. ``audio_offset_s``: the dub is a longer track and the
    take's first frame starts this many seconds into it; only a dub that ends before the take does is a
    length mismatch. None: the dub is the take's own, from its start.
    Raises InputError subclasses for bad input (a range outside the shot, an offset outside the dub
    included), ModelError, RenderCancelled, OutputError.
    """
    started = time.monotonic()
    _check_options(options)
    video, out = Path(video), Path(out)
    if out.resolve() == video.resolve():
        raise InputError(f"the output '{out}' is the source shot itself; write the take to another path")
    generator = generator if generator is not None else load_generator("default")
    info = probe_video(video, frame_range=video_range)
    dub_pcm = dub_from(load_audio(audio), audio_offset_s)
    stretch = audio_offset_s is not None
    fit_to_shot(dub_pcm, info.duration, info.fps, options.audio_policy, stretch)  # a strict mismatch fails before decoding

    tracking = StageMeter("track", info.frame_count, progress, cancel)
    shot = first_pass(info, tracking, track, need_samples=actor is None, overlap=options.overlap)
    centres, duration = frame_centres(shot.starts, info.fps)
    pcm, notes = fit_to_shot(dub_pcm, duration, info.fps, options.audio_policy, stretch)
    dub = speech_for_frames(pcm, centres, notes)
    silent = ~dub.speech if options.silence == "keep_original" else None
    edit = shot.track.valid if silent is None else shot.track.valid & ~silent
    strength = edit_strength(edit, options.fade_frames)
    segments = passthrough_segments(shot.track.valid, shot.track.reasons, silent)
    for line in describe(segments):
        tracking.warn(line)

    meter = StageMeter("render", len(shot.starts), progress, cancel)
    sync = SyncRecorder(edit, dub.speech)
    crop_size = options.crop_size or generator.crop_size
    compositor, motion = None, None
    if edit.any():
        profile = _actor_profile(actor, generator, info, shot, crop_size, meter)
        compositor = Compositor(generator, profile, crop_size, blend_device(options.blend, generator))
        motion = _plan(generator, dub, info, profile, _crop_landmarks(shot.track, crop_size))
    with VideoWriter(out, info, options) as writer:
        _second_pass(info, writer, compositor, shot.track.points, motion, strength, sync, options, meter)
        meter.finish()
        finalize = StageMeter("finalize", 1, progress, cancel)
        finalize.finish()
        # The take carries the dub file itself at its own quality; the 16 kHz PCM only drove the mouth.
        writer.finish(dub_from=audio, dub_offset=Fraction(audio_offset_s or 0),
                      original_audio_from=video if options.keep_original_audio else None)
        finalize.done = 1
        finalize.finish()

    verdict = sync.verdict(dub.pcm, info.fps) if edit.any() else SyncVerdict()
    warnings = [*dub.warnings, *_other_face_warnings(shot.track), *describe(segments)]
    if verdict.warning:
        warnings.append(verdict.warning)
    if writer.note:
        warnings.append(writer.note)
    if not edit.any():
        warnings.insert(0, "no frame of the shot was edited: every frame passed through unchanged")
    return RenderReport(
        output=str(out),
        frames=len(shot.starts),
        fps=f"{info.fps.numerator}/{info.fps.denominator}",
        width=info.width,
        height=info.height,
        generator=generator.name,
        backend=generator.backend,
        passthrough=segments,
        warnings=warnings,
        sync_score=verdict.confidence,
        sync_offset=verdict.offset,
        sync_status=verdict.status,
        sync_verdict=verdict.describe() if edit.any() else None,
        elapsed_s=round(time.monotonic() - started, 3),
        timecode=info.timecode,
    )


def _second_pass(
    info: VideoInfo,
    writer: VideoWriter,
    compositor: Compositor | None,
    points: np.ndarray,
    motion: np.ndarray | None,
    strength: np.ndarray,
    sync: SyncRecorder,
    options: RenderOptions,
    meter: StageMeter,
) -> None:
    """Decode -> generate and blend the edited frames in batches -> encode, every frame in order.

    With ``options.overlap`` the decoder and the encoder run in threads of their own (pipeline/stages.py),
    each joined to this thread by a queue of at most one batch of frames (fewer for 10-bit 4K and up, see
    FRAME_QUEUE_BYTES); the generator, the blend and the progress events stay in the caller's thread.
    """
    depth = frame_queue_depth(info, options.batch_size, native=True)
    with Stages(threaded=options.overlap, cancel=meter.cancel, on_wait=partial(meter.step, 0)) as stages:
        # the source's own samples go to the encoder wherever the picture is unchanged (no YUV round trip);
        # the track fixed the frame count, so a decoder that finds more frames is not followed
        frames = stages.source("decode", islice(read_frames(info.path, info, keep_native=True), len(strength)), depth)
        encoder = stages.sink("encode", lambda item: writer.write(item[0], item[1], source=item[2], changed=item[3]),
                              depth)
        pending: list[Frame] = []

        def flush() -> None:
            if pending:
                index = np.array([f.index for f in pending])
                rgbs = [f.rgb for f in pending]
                faces, generated = compositor.generate(rgbs, points[index], motion[index])
                sync.add(index, generated)
                edited = compositor.blend(rgbs, faces, generated, strength[index], inplace=True)
                for frame, (rgb, changed) in zip(pending, edited):
                    encoder.put((rgb, frame.pts, frame.native, changed))
                    meter.step()
                pending.clear()

        for frame in frames:
            if strength[frame.index] > 0:
                pending.append(frame)
                if len(pending) >= options.batch_size:
                    flush()
            else:
                flush()
                encoder.put((frame.rgb, frame.pts, frame.native, None))
                meter.step()
        flush()
        encoder.close()


def _check_options(options: RenderOptions) -> None:
    if options.codec not in CODECS:
        raise InputError(f"codec '{options.codec}' is unknown; use one of {', '.join(CODECS)}")
    if options.silence not in SILENCE_MODES:
        raise InputError(f"silence mode '{options.silence}' is unknown; use one of {', '.join(SILENCE_MODES)}")
    if options.blend not in BLEND_MODES:
        raise InputError(f"blend '{options.blend}' is unknown; use one of {', '.join(BLEND_MODES)}")
    if options.batch_size < 1:
        raise InputError(f"batch size must be at least 1, got {options.batch_size}")
    if options.fade_frames < 0:
        raise InputError(f"fade frames must be 0 or more, got {options.fade_frames}")


def _actor_profile(
    actor: ActorProfile | PathLike | None,
    generator: Generator,
    info: VideoInfo,
    shot: ShotPass,
    crop_size: int,
    meter: StageMeter,
) -> ActorProfile:
    if actor is None:
        samples = profile_samples(info, shot, crop_size)
        if samples is None:  # the evenly spaced samples all missed the face: take them among the valid frames
            shot.samples = resample_valid(info, shot.track, meter)
            samples = profile_samples(info, shot, crop_size)
        profile = generator.build_profile(samples)
    elif isinstance(actor, ActorProfile):
        profile = actor
    else:
        load_profile = getattr(generator, "load_profile", None)
        if load_profile is None:
            raise ModelError(f"generator '{generator.name}' cannot read actor profile files such as '{actor}'")
        profile = load_profile(Path(actor))
    if profile.generator != generator.name:
        raise ModelError(
            f"the actor profile was built by generator '{profile.generator}', not '{generator.name}'; "
            f"rebuild it with this generator or render with '{profile.generator}'"
        )
    return profile


def _crop_landmarks(track: ShotTrack, crop_size: int) -> np.ndarray:
    """(N, 468, 2) float32 landmarks of the shot's frames in their aligned crops (NaN where not valid)."""
    out = np.full(track.points.shape, np.nan, np.float32)
    for i in np.flatnonzero(track.valid):
        out[i] = align_face(track.points[i], crop_size).to_crop(track.points[i])
    return out


def _plan(generator: Generator, dub: FrameSpeech, info: VideoInfo, profile: ActorProfile,
          points: np.ndarray) -> np.ndarray:
    motion = np.asarray(generator.plan(dub.mel, dub.speech, info.fps, profile, points))
    if len(motion) != len(dub.mel):
        raise ModelError(
            f"generator '{generator.name}' planned {len(motion)} frames of motion for a {len(dub.mel)}-frame shot"
        )
    return motion


def _other_face_warnings(track: ShotTrack) -> list[str]:
    if not track.other_faces:
        return []
    frames = [frame for frame, _ in track.other_faces]
    most = max(count for _, count in track.other_faces)
    return [
        f"other faces (up to {most}) seen in {len(frames)} frames, first at frame {frames[0]}; "
        f"only the dominant face was edited"
    ]
