"""A small real renderer (the product's U-Net at a test size) and its example inputs."""
from __future__ import annotations

import pytest
import torch

from lipsync_engine.model import RendererConfig, build_renderer, renderer_example_inputs

SMALL = RendererConfig(crop_size=32, region_top=16, widths=(8, 12, 16))


@pytest.fixture(scope="session")
def renderer() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_renderer(SMALL).eval()
    with torch.no_grad():  # a non-trivial head so outputs are not all ~0.5
        model.head.weight.mul_(20.0)
    return model


@pytest.fixture(scope="session")
def example_inputs() -> dict[str, torch.Tensor]:
    return renderer_example_inputs(SMALL, 2)


def numpy_batch(batch: int, seed: int = 1) -> dict:
    """Numpy inputs for SMALL with ``batch`` rows."""
    torch.manual_seed(seed)
    return {name: torch.rand(batch, *t.shape[1:]).numpy() for name, t in renderer_example_inputs(SMALL, 1).items()}
