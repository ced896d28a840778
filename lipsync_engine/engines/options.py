"""Settings of a renderer engine that are not the model, device or precision: built once at the edge."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lipsync_engine.errors import InputError

DEFAULT_TRITON_MODEL = "lipsync_renderer"
CACHE_ENV = "LIPSYNC_CACHE"  # the user's lipsync cache folder; engines keep their files in its "engines"


def default_cache_dir() -> Path:
    """Where exported .onnx and built .plan files are kept when no cache_dir is given.

    ``$LIPSYNC_CACHE/engines``, else ``$XDG_CACHE_HOME/lipsync/engines``, else ``~/.cache/lipsync/engines``.
    The one place the engine reads the environment: a per-user default, like a compiler's cache, so a
    second load of the same weights skips the export (files are keyed by the weights' sha256).
    """
    root = os.environ.get(CACHE_ENV)
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = Path(xdg) / "lipsync" if xdg else Path.home() / ".cache" / "lipsync"
    return Path(root) / "engines"


@dataclass(frozen=True)
class EngineOptions:
    """Backend-specific knobs; each backend reads only its own and ignores the rest."""

    max_batch: int = 32  # largest batch one call sends to the device; bigger inputs are split
    opt_batch: int = 8  # TensorRT: batch the kernels are tuned for (the pipeline's usual); capped at max_batch
    cache_dir: Path | None = None  # onnx/tensorrt: where exported .onnx and built .plan files are kept;
    # None: default_cache_dir() (a temporary folder per load when that cannot be created)
    threads: int = 0  # onnx on CPU: intra-op threads; 0 lets onnxruntime choose
    triton_url: str | None = None  # triton: "host:port" of the server's gRPC endpoint
    triton_model: str = DEFAULT_TRITON_MODEL  # triton: model name in the server's repository
    timeout_s: float = 60.0  # triton: deadline of one inference request

    def __post_init__(self) -> None:
        if self.cache_dir is not None and not isinstance(self.cache_dir, Path):
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))  # accept str from flags and configs
        if self.max_batch < 1 or self.opt_batch < 1:
            raise InputError(
                f"engine batch sizes max_batch={self.max_batch}, opt_batch={self.opt_batch} are not valid; "
                "both must be >= 1"
            )
        if self.threads < 0 or self.timeout_s <= 0:
            raise InputError(f"threads={self.threads} must be >= 0 and timeout_s={self.timeout_s} > 0")

    @classmethod
    def from_kwargs(cls, **opts: object) -> "EngineOptions":
        """Build from make_engine's ``**opts``; an unknown name is an InputError listing the valid ones."""
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(opts) - valid)
        if unknown:
            raise InputError(f"unknown engine option(s) {unknown}; valid options are {sorted(valid)}")
        if opts.get("cache_dir") is not None:
            opts["cache_dir"] = Path(opts["cache_dir"])  # type: ignore[arg-type]
        return cls(**opts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class EngineRequest:
    """What make_engine passes to a backend's ``load(model_or_path, request)``."""

    device: str  # "cpu", "cuda", "cuda:N"
    precision: str  # "fp32" or "fp16"
    options: EngineOptions
    example_inputs: dict[str, Any] | None = None  # name -> torch tensor, batch axis 0 (for exporting a module)
