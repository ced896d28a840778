"""Load a generator by name or weights path."""
from __future__ import annotations

import importlib
from pathlib import Path

from lipsync_engine.engines.options import EngineOptions
from lipsync_engine.errors import ModelError
from lipsync_engine.generator.base import Generator

# Built-in generators that need no weights: name -> "module:factory".
BUILTIN = {
    "identity": "lipsync_engine.generator.identity:IdentityGenerator",
    "mouth_frozen": "lipsync_engine.generator.baselines:MouthFrozenGenerator",
    "vad_control": "lipsync_engine.generator.baselines:VoiceActivityControl",
}


def load_generator(
    name: str | Path = "default",
    *,
    backend: str = "auto",
    device: str = "cpu",
    precision: str = "fp32",
    engine_options: EngineOptions | None = None,
) -> Generator:
    """Return a ready generator.

    ``name``: "default" (the weights shipped in the package), a built-in name from BUILTIN, or the path
    of a weights file. ``backend`` ("auto", "torch", "onnx", "tensorrt", "triton"), ``device`` ("cpu",
    "cuda", "cuda:1") and ``precision`` ("fp32", "fp16") choose how the heavy part runs;
    ``engine_options`` carries the backend's own settings (Triton URL, export cache, batch limits).
    """
    key = str(name)
    if key in BUILTIN:
        module_name, factory = BUILTIN[key].split(":")
        return getattr(importlib.import_module(module_name), factory)()
    try:
        learned = importlib.import_module("lipsync_engine.generator.learned")
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"generator '{key}' needs the learned model, which this build does not include; "
            f"use one of {sorted(BUILTIN)}"
        ) from exc
    return learned.load_learned(
        key, backend=backend, device=device, precision=precision, engine_options=engine_options
    )
