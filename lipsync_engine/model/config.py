"""Configuration of the learned generator: frozen dataclasses that every checkpoint carries in its metadata."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from lipsync_engine.model.mouth_shape import MAX_JAW_TRIM


@dataclass(frozen=True)
class RendererConfig:
    """The per-frame image network (see model/renderer.py)."""

    crop_size: int = 192  # S: side of the aligned square crop the renderer takes and returns
    region_top: int = 80  # first crop row the renderer regenerates; rows above pass through untouched
    references: int = 1  # reference crops of the same actor fed beside the target
    shape_channels: int = 2  # rasterised target mouth shape: lip/jaw contours, mouth opening
    widths: tuple[int, ...] = (16, 32, 64, 96, 128)  # U-Net channels per level, full res first
    # repaint mask growth below the lips + jaw hull, fraction of S (6% beside and above); weights files
    # written before this setting existed lack it and get 0.06, the mask they were trained with
    mask_below: float = 0.06
    # jaw points left out of the repaint mask's hull at each end of the jaw line (mouth_shape.hull_points);
    # weights trained before this setting lack it and get 0, the whole jaw line
    mask_jaw_trim: int = 0
    # references are warped onto the target's head and the wanted mouth before the network sees them
    # (model/reference_warp.py); weights trained on unwarped references lack it and get False
    warp_reference: bool = False

    @property
    def region_height(self) -> int:
        """Rows the renderer works on; divisible by 2**(levels-1) so the U-Net's skips line up."""
        return self.crop_size - self.region_top

    def check(self) -> None:
        """Raise ValueError when the region cannot be downsampled evenly by the U-Net or the mask is absurd."""
        step = 2 ** (len(self.widths) - 1)
        if self.region_height % step or self.crop_size % step:
            raise ValueError(
                f"renderer region {self.region_height}x{self.crop_size} must be divisible by {step}; "
                f"choose region_top/crop_size accordingly"
            )
        if not 0.0 <= self.mask_below <= 0.25:
            raise ValueError(f"renderer mask_below {self.mask_below} must be a fraction of the crop in [0, 0.25]")
        if not 0 <= self.mask_jaw_trim <= MAX_JAW_TRIM:
            raise ValueError(f"renderer mask_jaw_trim {self.mask_jaw_trim} must be a count of jaw points in "
                             f"[0, {MAX_JAW_TRIM}]")


@dataclass(frozen=True)
class MotionConfig:
    """The audio-to-mouth-motion network (see model/audio_motion.py)."""

    mel_bins: int = 80
    # mel columns the network sees per frame (100 columns/s, so 400 ms), centred on the frame; wider than
    # the pipeline's 200 ms windows (audio.MEL_WINDOW), it is rebuilt from neighbouring frames' windows
    mel_window: int = 40
    code_dim: int = 10  # D: PCA mouth-motion code size
    hidden: int = 128
    # "flatten": the head sees every time step of the conv features, so it knows what happens at the
    # frame's own instant; "pool": averaged over the window (translation invariant; the older design)
    head: str = "flatten"
    # Gaussian sigma (seconds) of the zero-phase smoothing of the planned codes over the dub (plan()). Full
    # eval of ea64a879, 0.02 against 0 take for take: lip motion 1.09 -> 1.03 of real footage's, flicker -0.03,
    # cross-dub sync conf 0.143 -> 0.140 (real 0.139), closure recall -0.02; 0.03 cost more sync on the quick eval
    smooth_s: float = 0.02
    # Planned codes whose norm is below this settle on the closed rest mouth (mouth_shape.settle_closed):
    # regression leaves a half-open mumble where the speaker's lips meet (p/b/m); 0 turns it off. The quick
    # eval measured 0.09 / 0.12 / 0.15: closure recall 0.51 / 0.62 / 0.78, opening corr 0.37 / 0.39 / 0.37
    # (3d7c084e); for ea64a879 with 20 ms smoothing the full eval, 0.14 vs 0.12 take for take: closure recall
    # +0.09, width corr -0.05, lip motion -0.03, seam step -0.07 (docs/model.md). Those thresholds also pulled
    # back the mean opening a gain about 0 inflated; with the calibration offset (motion_training.
    # fit_calibration) the quick eval of 5645633a's networks measured self PSNR 28.02 / 28.09 / 28.07 / 28.08 at
    # 0.06 / 0.04 / 0.02 / 0 (design comparison 16)
    closure_threshold: float = 0.04

    def check(self) -> None:
        """Raise ValueError on a head this code does not know or an absurd smoothing."""
        if self.head not in MOTION_HEADS:
            raise ValueError(f"motion head '{self.head}' is unknown; use one of {', '.join(MOTION_HEADS)}")
        if not 0.0 <= self.smooth_s <= 0.5:
            raise ValueError(f"motion smooth_s {self.smooth_s} must be a sigma in seconds in [0, 0.5]")
        if not 0.0 <= self.closure_threshold <= 0.5:
            raise ValueError(f"motion closure_threshold {self.closure_threshold} must be a code norm in [0, 0.5]")


MOTION_HEADS = ("flatten", "pool")
# How weights files written before a MotionConfig field existed were trained and run (absent key -> this).
LEGACY_MOTION = {"head": "pool", "smooth_s": 0.04, "closure_threshold": 0.0}


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild the learned generator's networks from a weights file."""

    name: str = "lipsync-gen-2"  # -2: the audio-to-motion of 2026-11 (400 ms window, flatten head, unsmoothed)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GeneratorConfig":
        """Inverse of to_json; raises ValueError/KeyError/TypeError on text that is not such a config."""
        raw = json.loads(text)
        renderer = dict(raw["renderer"])
        renderer["widths"] = tuple(renderer["widths"])
        motion = MotionConfig(**{**LEGACY_MOTION, **raw["motion"]})
        return cls(name=raw["name"], renderer=RendererConfig(**renderer), motion=motion)
