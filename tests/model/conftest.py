"""Model tests share a 2-core CI box with other suites: one torch thread keeps them from oversubscribing it."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    torch.set_num_threads(1)
