"""Options, progress events and reports of a render: frozen dataclasses built once at the edge."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CODECS = ("h264", "h265", "prores", "ffv1")  # ffv1 is the lossless option
AUDIO_POLICIES = ("fit_video", "strict")
SILENCE_MODES = ("close", "keep_original")
BLEND_MODES = ("auto", "cpu", "device")


@dataclass(frozen=True)
class RenderOptions:
    """How a take is rendered. Defaults give a delivery-ready H.264 take of the source's length."""

    codec: str = "h264"  # one of CODECS; "ffv1" is mathematically lossless
    quality: int = 18  # CRF-like quality for h264/h265 (lower is better); ignored by prores/ffv1
    # Dub longer/shorter than the video: "fit_video" keeps the video's length (extra audio is cut, missing
    # audio is silence so the mouth rests closed); "strict" refuses a mismatch over one frame.
    audio_policy: str = "fit_video"
    keep_original_audio: bool = False  # also mux the shot's own audio as a second stream
    silence: str = "close"  # on silence in the dub: "close" the mouth, or "keep_original" frames
    batch_size: int = 8  # crops per generator call
    fade_frames: int = 4  # frames to fade the edit in/out where the face is lost or found
    crop_size: int | None = None  # aligned crop side; None takes the generator's own
    overlap: bool = True  # decode and encode in threads beside the generator (same take either way)
    # Where mouths are pasted into the frames: "cpu" (numpy), "device" (torch on the generator's device),
    # "auto" (the device on a CUDA GPU, else cpu). Pixels outside the mask are the source's either way.
    blend: str = "auto"


@dataclass(frozen=True)
class Progress:
    """One progress event of a long render, passed to the caller's callback."""

    stage: str  # "probe", "track", "render", "finalize"
    done: int  # frames finished in this stage
    total: int  # frames in this stage (0 when unknown)
    fps: float = 0.0  # frames per second of this stage so far
    eta_s: float | None = None  # seconds to the end of this stage
    message: str = ""  # a warning a person should read, e.g. "face lost in frames 120-143"


@dataclass
class PassthroughSegment:
    """Frames left exactly as the source, and why."""

    start: int  # first frame index (0-based, in the shot)
    end: int  # last frame index, inclusive
    reason: str  # "no_face", "face_too_small", "silence", ...


@dataclass
class RenderReport:
    """The QA record of a take: what was rendered, what was passed through and why."""

    output: str
    frames: int
    fps: str  # exact rational, e.g. "24000/1001"
    width: int
    height: int
    generator: str
    backend: str
    passthrough: list[PassthroughSegment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sync_score: float | None = None  # sync expert confidence on the generated mouth, when measured
    sync_offset: int | None = None  # frames; 0 is in sync
    # What sync_score and sync_offset mean (pipeline/qa.py): "in_sync", "offset" or "inconclusive" (the
    # expert cannot tell; the two numbers are then noise); None when not measured. sync_verdict says it in words.
    sync_status: str | None = None
    sync_verdict: str | None = None
    elapsed_s: float = 0.0
    timecode: str | None = None  # the take's start timecode (the source's, at the first frame rendered)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)
