"""Checks and batching shared by every engine: named inputs in, one (N, ...) array out."""
from __future__ import annotations

import abc
from collections.abc import Callable, Sequence

import numpy as np

from lipsync_engine.errors import InputError


def check_inputs(inputs: dict[str, np.ndarray], input_names: Sequence[str]) -> int:
    """Return the batch size N shared by ``inputs``; raise InputError naming what does not fit.

    Every name in ``input_names`` must be present and no other; every array must have a batch axis 0
    of the same length N >= 1.
    """
    missing = [name for name in input_names if name not in inputs]
    extra = [name for name in inputs if name not in input_names]
    if missing or extra:
        raise InputError(
            f"renderer inputs do not match the model: missing {missing}, unexpected {extra}; "
            f"the model takes exactly {list(input_names)}"
        )
    sizes = {name: (np.shape(inputs[name])[0] if np.ndim(inputs[name]) else 0) for name in input_names}
    if len(set(sizes.values())) != 1 or min(sizes.values()) < 1:
        raise InputError(f"renderer inputs need one shared batch size >= 1 on axis 0; got {sizes}")
    return next(iter(sizes.values()))


def run_batched(
    run: Callable[[dict[str, np.ndarray]], np.ndarray],
    inputs: dict[str, np.ndarray],
    input_names: Sequence[str],
    max_batch: int,
) -> np.ndarray:
    """Call ``run`` on chunks of at most ``max_batch`` rows and concatenate the outputs on axis 0."""
    n = check_inputs(inputs, input_names)
    if n <= max_batch:
        return run(inputs)
    parts = [
        run({name: inputs[name][start : start + max_batch] for name in input_names})
        for start in range(0, n, max_batch)
    ]
    return np.concatenate(parts, axis=0)


def split_device(device: str) -> tuple[str, int]:
    """"cpu" -> ("cpu", 0); "cuda" -> ("cuda", 0); "cuda:1" -> ("cuda", 1). Anything else is an InputError."""
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()) or (kind == "cpu" and index):
        raise InputError(f"device '{device}' is not valid; use 'cpu', 'cuda' or 'cuda:N'")
    return kind, int(index or 0)


class BatchedEngine(abc.ABC):
    """Base of the engines: ``__call__`` checks named inputs and feeds ``_run`` at most ``max_batch`` rows."""

    input_names: tuple[str, ...]
    max_batch: int

    @abc.abstractmethod
    def _run(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Run one chunk of at most ``max_batch`` rows."""

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """inputs: name -> (N, ...) array -> (N, ...) float32 output of the model."""
        return run_batched(self._run, inputs, self.input_names, self.max_batch)
