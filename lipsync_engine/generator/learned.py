"""The learned generator: audio -> mouth-motion code -> reference-driven renderer (see docs/model.md).

``load_learned("default")`` loads ``lipsync_engine/weights/generator.safetensors``; any other name is
the path of a weights file. The heavy renderer runs through an engine object
(``lipsync_engine.engines.make_engine``: torch, ONNX Runtime, TensorRT or Triton).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from lipsync_engine.engines import EngineOptions, RendererEngine, make_engine
from lipsync_engine.errors import InputError, ModelError
from lipsync_engine.generator.base import ActorProfile, ProfileSamples
from lipsync_engine.model import actor
from lipsync_engine.model.audio_motion import widen_windows
from lipsync_engine.model.colour_gamut import clamp_to_gamut
from lipsync_engine.model.bundle import GeneratorBundle, load_bundle
from lipsync_engine.model.cheek_hold import hold_cheeks
from lipsync_engine.model.mouth_shape import (decode, mouth_shape, nose_anchor, repaint_mask, settle_closed,
                                              shape_map)
from lipsync_engine.model.reference_warp import warp_reference
from lipsync_engine.model.renderer import build_renderer, renderer_example_inputs
from lipsync_engine.model.retrieval import crossfade, pose_descriptor, reference_path

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "generator.safetensors"
SPEECH_FADE_S = 0.06  # sigma (seconds) of the fade between speech and the closed rest mouth
GAMUT_REGION = 0.05  # repaint mask values above this bound the pixels whose colours are checked and listed


def weights_path(name: str) -> Path:
    """The generator weights file a name means: "default" is the shipped one, anything else a path."""
    return DEFAULT_WEIGHTS if name == "default" else Path(name)


def load_learned(name: str, backend: str = "auto", device: str = "cpu", precision: str = "fp32",
                 engine_options: EngineOptions | None = None) -> "LearnedGenerator":
    """The learned generator from "default" or a weights path; ModelError when the weights are unusable."""
    path = weights_path(name)
    if name == "default" and not path.is_file():
        raise ModelError(f"the default generator weights are missing at '{path}'; reinstall lipsync or run `lipsync train`")
    if precision == "fp16" and not str(device).startswith("cuda"):
        precision = "fp32"  # fp16 convolutions are slow or missing on CPU
    return LearnedGenerator(load_bundle(path), backend=backend, device=device, precision=precision,
                            engine_options=engine_options)


class LearnedGenerator:
    """Implements generator.base.Generator; motion rows are [code (D), ref_a, ref_b, fade weight]."""

    def __init__(self, bundle: GeneratorBundle, backend: str = "torch", device: str = "cpu",
                 precision: str = "fp32", engine_options: EngineOptions | None = None) -> None:
        self.bundle = bundle
        self._engine_options = engine_options
        self.name = bundle.label
        self.crop_size = bundle.config.renderer.crop_size
        self.engine = self._make_engine(bundle.renderer, backend, device, precision)
        self.backend = self.engine.name
        self._settings = (backend, device, precision)
        self._tuned: tuple[int, RendererEngine] | None = None  # (id of the profile's state, its engine)

    def _make_engine(self, module: torch.nn.Module, backend: str, device: str, precision: str) -> RendererEngine:
        example = renderer_example_inputs(self.bundle.config.renderer, 1)
        return make_engine(module, backend, device=device, precision=precision, example_inputs=example,
                           options=self._engine_options)

    # -- profile -------------------------------------------------------------------------------
    def build_profile(self, samples: ProfileSamples, source: str = "") -> ActorProfile:
        """Reference index and rest mouth from aligned crops of the actor's footage (crop size S)."""
        if samples.crops.shape[1:] != (self.crop_size, self.crop_size, 3):
            raise InputError(
                f"profile crops must be (M, {self.crop_size}, {self.crop_size}, 3), got {samples.crops.shape}"
            )
        data = actor.actor_data(samples.crops, samples.points, self.bundle.basis)
        return ActorProfile(generator=self.name, data=data, source=source or f"{len(samples.crops)} frames")

    def load_profile(self, path: str | Path) -> ActorProfile:
        return actor.load_profile(path)

    def save_profile(self, profile: ActorProfile, path: str | Path) -> str:
        return actor.save_profile(profile, path)

    # -- motion --------------------------------------------------------------------------------
    def plan(self, mel: np.ndarray, speech: np.ndarray, fps: Fraction, profile: ActorProfile,
             points: np.ndarray | None = None) -> np.ndarray:
        """mel (N, 80, 20) float32 windows centred on the frames, speech (N,) bool -> (N, D + 3) float32
        motion, smooth in time. ``points`` (N, 468, 2) crop landmarks of the frames (NaN where no face)
        make the references posed like each frame preferred (model/retrieval.py)."""
        n = len(mel)
        if n == 0:
            return np.zeros((0, self.bundle.basis.shape[0] + 3), np.float32)
        rate = float(fps)
        # a network trained on wider windows gets them rebuilt from the neighbouring frames' windows
        wide = widen_windows(np.asarray(mel, np.float32), rate, self.bundle.config.motion.mel_window)
        codes = self.predict_codes(wide)
        envelope = _gaussian_smooth(np.asarray(speech, dtype=np.float32)[:, None], SPEECH_FADE_S * rate)
        motion_config = self.bundle.config.motion
        codes = settle_closed(codes * np.clip(envelope, 0.0, 1.0), motion_config.closure_threshold)
        codes = _gaussian_smooth(codes, motion_config.smooth_s * rate)
        ref_points = profile.data.get("ref_points")
        poses = None if points is None or ref_points is None else pose_descriptor(points)
        candidate_poses = None if poses is None else pose_descriptor(ref_points)
        path = reference_path(codes, profile.data["ref_codes"], poses=poses, candidate_poses=candidate_poses)
        refs = crossfade(path)
        return np.concatenate([codes, refs], axis=1).astype(np.float32)

    def predict_codes(self, mel: np.ndarray, batch: int = 1024) -> np.ndarray:
        """Unsmoothed codes (N, D) float32 of (N, 80, MotionConfig.mel_window) mel windows, calibrated (gain and
        offset)."""
        out = []
        motion = self.bundle.motion
        with torch.inference_mode():
            for i in range(0, len(mel), batch):
                out.append(motion(torch.from_numpy(np.ascontiguousarray(mel[i:i + batch], np.float32))).numpy())
        return np.concatenate(out) * self.bundle.gain[None, :] + self.bundle.offset[None, :]

    # -- pixels --------------------------------------------------------------------------------
    def render(self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        """crops (n, S, S, 3) uint8, points (n, 468, 2) crop px, motion (n, D + 3) -> (n, S, S, 3) uint8.

        The renderer's crops then go through the cheek hold (model/cheek_hold.py: the frame's own pixels
        away from lips and chin) and the colour gamut guard (model/colour_gamut.py)."""
        if len(crops) == 0:
            return crops.copy()
        inputs = self.renderer_inputs(crops, points, motion, profile)
        out = np.clip(self.engine_for(profile)(inputs), 0.0, 1.0).transpose(0, 2, 3, 1)
        masks = inputs["mask"][:, 0]
        own, wanted = mouth_shape(points, self.crop_size), self._wanted(points, motion, profile)
        out = np.stack([hold_cheeks(o, c, [a, b]) for o, c, a, b in zip(out, crops, own, wanted)])
        out = self._within_gamut(out, crops, motion, masks, profile)
        return (out * 255.0 + 0.5).astype(np.uint8)

    def _within_gamut(self, painted: np.ndarray, crops: np.ndarray, motion: np.ndarray, masks: np.ndarray,
                      profile: ActorProfile) -> np.ndarray:
        """(n, S, S, 3) float painted crops with colours none of the frame's own crop and its two references
        show pulled back into their gamut (model/colour_gamut.py)."""
        d = self.bundle.basis.shape[0]
        refs = profile.data["ref_crops"]
        out = np.empty_like(painted)
        for i, (crop, row, mask) in enumerate(zip(crops, motion, masks)):
            seen = [crop, refs[int(row[d])], refs[int(row[d + 1])]]
            out[i] = clamp_to_gamut(painted[i], [s.astype(np.float32) / 255.0 for s in seen], mask > GAMUT_REGION)
        return out

    def renderer_inputs(
        self, crops: np.ndarray, points: np.ndarray, motion: np.ndarray, profile: ActorProfile
    ) -> dict[str, np.ndarray]:
        """The renderer's named float32 inputs (see model/renderer.py) for a batch of target crops."""
        s, d = self.crop_size, self.bundle.basis.shape[0]
        wanted = self._wanted(points, motion, profile)
        shapes = np.stack([shape_map(w, s) for w in wanted])
        a, b = motion[:, d].astype(np.int64), motion[:, d + 1].astype(np.int64)
        fade = motion[:, d + 2, None, None, None]
        reference = self._references(a, points, wanted, profile) * (1.0 - fade)
        reference += self._references(b, points, wanted, profile) * fade
        return {
            "target": crops.transpose(0, 3, 1, 2).astype(np.float32) / 255.0,
            "mask": self.repaint_masks(points, motion, profile),
            "shape": shapes.astype(np.float32),
            "reference": reference.transpose(0, 3, 1, 2) / 255.0,
        }

    def repaint_masks(self, points: np.ndarray, motion: np.ndarray, profile: ActorProfile,
                      below: float | None = None) -> np.ndarray:
        """(n, 1, S, S) float32 repaint masks of the frames' own and wanted mouths; ``below`` (fraction of S)
        overrides the weights' growth below the jaw, so metrics can compare mask designs on the same pixels."""
        config = self.bundle.config.renderer
        below = config.mask_below if below is None else below
        own, wanted = mouth_shape(points, self.crop_size), self._wanted(points, motion, profile)
        return np.stack([repaint_mask([o, w], self.crop_size, config.region_top, below, config.mask_jaw_trim)
                         for o, w in zip(own, wanted)])[:, None].astype(np.float32)

    def _references(self, chosen: np.ndarray, points: np.ndarray, wanted: np.ndarray,
                    profile: ActorProfile) -> np.ndarray:
        """(n, S, S, 3) float32 reference crops ``chosen`` per frame, warped onto each target frame's head and
        wanted mouth when the weights were trained so and the profile has the references' landmarks."""
        crops = profile.data["ref_crops"][chosen].astype(np.float32)
        ref_points = profile.data.get("ref_points")
        if not self.bundle.config.renderer.warp_reference or ref_points is None:
            return crops
        return np.stack([warp_reference(c, ref_points[r], p, w)
                         for c, r, p, w in zip(crops, chosen, points, wanted)])

    def _wanted(self, points: np.ndarray, motion: np.ndarray, profile: ActorProfile) -> np.ndarray:
        """(n, P, 2) mouth shapes the motion rows ask for, placed under each frame's own nose."""
        d = self.bundle.basis.shape[0]
        return decode(motion[:, :d], self.bundle.basis, actor.rest_of(profile), nose_anchor(points, self.crop_size))

    def engine_for(self, profile: ActorProfile) -> RendererEngine:
        """The renderer engine for ``profile``: its fine-tuned renderer when it has one, else the generic."""
        state = profile.data.get("renderer_state")
        if not state:
            return self.engine
        if self._tuned is None or self._tuned[0] != id(state):
            module = build_renderer(self.bundle.config.renderer)
            module.load_state_dict(state)
            self._tuned = (id(state), self._make_engine(module.eval(), *self._settings))
        return self._tuned[1]


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of (N, C) along axis 0 (edges reflected); sigma in frames."""
    if sigma < 0.3 or len(x) < 2:
        return x.astype(np.float32)
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(x, ((radius, radius), (0, 0)), mode="reflect" if len(x) > radius else "edge")
    return np.stack([np.convolve(padded[:, c], taps, mode="valid") for c in range(x.shape[1])], axis=1).astype(np.float32)
