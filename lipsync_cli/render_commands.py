"""`lipsync frame`, `lipsync render`, `lipsync demo`: the engine's own commands."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEMO_OUT = "lipsync-demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    frame = subparsers.add_parser(
        "frame", help="one image + speech -> the image with a matching mouth",
        description="Regenerate the mouth of the single face in an image so it matches the middle of the speech.",
    )
    frame.add_argument("--image", required=True, help="RGB image (PNG, JPEG, TIFF) with exactly one face")
    frame.add_argument("--audio", required=True, help="speech: any audio or video file")
    frame.add_argument("--out", required=True, help="output image; its extension picks the format")
    _add_generator_args(frame)
    frame.set_defaults(handler=_frame)

    render = subparsers.add_parser(
        "render", help="a shot + a dub track -> a take whose lips follow the dub",
        description="Render a take: same frames, fps, size, timecode and colour as the shot; the dub is its audio. "
                    "Writes <out>.qa.json beside the take (frames passed through and why).",
    )
    render.add_argument("--video", required=True, help="the shot (one actor's face)")
    render.add_argument("--audio", required=True, help="the dub speech: any audio or video file")
    render.add_argument("--out", required=True, help="the take to write (written atomically)")
    _add_render_args(render)
    _add_generator_args(render)
    render.add_argument("--actor", metavar="PROFILE", help="actor profile file (from `lipsync adapt`) to use "
                        "instead of the quick profile built from the shot")
    render.add_argument("--track-cache", metavar="NPZ", help="face track cache of this shot (range): read if "
                        "present, written if not (reuse it when rendering the same shot in other languages)")
    render.add_argument("--video-range", nargs=2, type=int, metavar=("FIRST", "COUNT"),
                        help="render only COUNT frames of the shot from frame FIRST (0-based)")
    render.add_argument("--audio-offset", type=float, metavar="SECONDS",
                        help="the dub is a longer track: the take starts this many seconds into it")
    render.set_defaults(handler=_render)

    demo = subparsers.add_parser(
        "demo", help="render the built-in example and say where the take is",
        description="Render a few seconds of a public-domain clip driven by another speaker's speech.",
    )
    demo.add_argument("--out", default=DEMO_OUT, help="folder for the take (default: ./%(default)s)")
    _add_generator_args(demo)
    demo.set_defaults(handler=_demo)


def _add_render_args(parser: argparse.ArgumentParser) -> None:
    from lipsync_engine.options import AUDIO_POLICIES, BLEND_MODES, CODECS, SILENCE_MODES, RenderOptions

    defaults = RenderOptions()
    parser.add_argument("--codec", choices=CODECS, default=defaults.codec, help="default: %(default)s; ffv1 is lossless")
    parser.add_argument("--quality", type=int, default=defaults.quality, help="h264/h265 CRF (default: %(default)s)")
    parser.add_argument("--keep-original-audio", action="store_true", help="keep the shot's audio as a second stream")
    parser.add_argument("--audio-policy", choices=AUDIO_POLICIES, default=defaults.audio_policy,
                        help="dub longer/shorter than the shot: fit_video cuts or pads with silence (default), "
                             "strict refuses a mismatch")
    parser.add_argument("--silence", choices=SILENCE_MODES, default=defaults.silence,
                        help="where the dub is silent: close the mouth (default) or keep the original frames")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="crops per generator call")
    parser.add_argument("--fade-frames", type=int, default=defaults.fade_frames,
                        help="frames over which the edit fades in/out where the face is lost (default: %(default)s)")
    parser.add_argument("--blend", choices=BLEND_MODES, default=defaults.blend,
                        help="where mouths are pasted into the frames: cpu (numpy), device (torch on --device), "
                             "auto (device on a CUDA GPU, else cpu; default)")


def _add_generator_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--generator", default="default",
                       help="'default' (shipped weights), 'identity' (no change), or another built-in name")
    group.add_argument("--weights", help="a generator weights file to use instead of the shipped ones")
    parser.add_argument("--backend", default="auto", help="engine of the heavy part: auto, torch, onnx, tensorrt, triton")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16"], help="of the heavy part (fp16: GPU)")
    parser.add_argument("--triton-url", metavar="HOST:PORT", help="Triton server's gRPC endpoint (--backend triton)")
    parser.add_argument("--triton-model", help="model name in the Triton repository (default: lipsync_renderer)")
    parser.add_argument("--engine-cache", metavar="DIR", type=Path,
                        help="keep exported ONNX files / TensorRT plans here so they are built once "
                             "(default: $LIPSYNC_CACHE/engines, else ~/.cache/lipsync/engines)")
    parser.add_argument("--max-batch", type=int, help="largest batch sent to the device at once (default: 32)")


def _generator(args: argparse.Namespace):
    from lipsync_engine import load_generator
    from lipsync_engine.engines import EngineOptions

    given = {"triton_url": args.triton_url, "triton_model": args.triton_model, "cache_dir": args.engine_cache,
             "max_batch": args.max_batch}
    options = EngineOptions(**{k: v for k, v in given.items() if v is not None})
    return load_generator(args.weights or args.generator, backend=args.backend, device=args.device,
                          precision=args.precision, engine_options=options)


def _frame(args: argparse.Namespace) -> int:
    from lipsync_cli.files import read_image, write_image
    from lipsync_engine import sync_frame
    from lipsync_engine.audio import load_audio

    image = read_image(Path(args.image))
    pcm = load_audio(args.audio)
    result = sync_frame(image, pcm, _generator(args))
    write_image(Path(args.out), result)
    print(f"wrote {args.out} ({result.shape[1]}x{result.shape[0]})")
    return 0


def _render(args: argparse.Namespace) -> int:
    from lipsync_engine.options import RenderOptions

    options = RenderOptions(
        codec=args.codec, quality=args.quality, audio_policy=args.audio_policy,
        keep_original_audio=args.keep_original_audio, silence=args.silence,
        batch_size=args.batch_size, fade_frames=args.fade_frames, blend=args.blend,
    )
    return _render_take(args.video, args.audio, Path(args.out), _generator(args), options, actor=args.actor,
                        track=args.track_cache, video_range=args.video_range, audio_offset_s=args.audio_offset)


def _demo(args: argparse.Namespace) -> int:
    from lipsync_engine.demo import DEMO_AUDIO, DEMO_VIDEO
    from lipsync_engine.errors import ModelError
    from lipsync_engine.options import RenderOptions

    try:
        generator = _generator(args)
    except ModelError as exc:
        if args.weights or args.generator != "default":
            raise
        from lipsync_engine import load_generator

        print(f"lipsync: note: {exc}\nlipsync: note: rendering the demo with the 'identity' generator "
              f"(the mouth is not changed) so the pipeline can still be seen end to end", file=sys.stderr)
        generator = load_generator("identity")
    out = Path(args.out) / "demo_take.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    code = _render_take(DEMO_VIDEO, DEMO_AUDIO, out, generator, RenderOptions(), actor=None, track=None)
    print(f"demo take: {out.resolve()}")
    return code


def _render_take(video, audio, out: Path, generator, options, *, actor, track, video_range=None,
                 audio_offset_s=None) -> int:
    from lipsync_cli.files import write_text
    from lipsync_engine import render_video

    with ProgressBars() as bars:
        report = render_video(video, audio, out, generator, options, actor=actor, track=track, progress=bars,
                              video_range=video_range, audio_offset_s=audio_offset_s)
    qa_path = out.with_name(out.name + ".qa.json")
    write_text(qa_path, json.dumps(report.to_dict(), indent=2) + "\n")
    edited = report.frames - sum(s.end - s.start + 1 for s in report.passthrough)
    print(f"wrote {report.output}: {report.frames} frames at {report.fps} fps, {report.width}x{report.height}, "
          f"generator {report.generator} ({report.backend}), {edited} frames edited, {report.elapsed_s:.1f} s")
    if report.sync_status is not None:
        print(report.sync_verdict)
    for warning in report.warnings:
        print(f"  warning: {warning}")
    print(f"QA record: {qa_path}")
    return 0


class ProgressBars:
    """A progress callback that shows one tqdm bar per render stage on stderr."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = None

    def __enter__(self) -> "ProgressBars":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def __call__(self, event) -> None:
        from tqdm import tqdm

        if event.stage != self._stage:
            if self._bar is not None:
                self._bar.close()
            self._stage = event.stage
            self._bar = tqdm(total=event.total or None, desc=event.stage, unit="frame", file=sys.stderr, leave=False)
        if event.message:
            self._bar.write(f"lipsync: {event.message}", file=sys.stderr)
        self._bar.n = event.done
        self._bar.refresh()
