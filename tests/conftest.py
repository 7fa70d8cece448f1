"""Suite-wide settings."""

import os

import pytest
import torch

# runs log TensorBoard scalars when tensorboard is installed; only the test of that logging needs them
os.environ.setdefault("EBMLAB_TENSORBOARD", "0")


@pytest.fixture(autouse=True)
def _one_thread():
    """Test problems are tiny: one torch thread avoids OpenMP hand-off latency (and contention on
    a shared machine) without changing any result."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
