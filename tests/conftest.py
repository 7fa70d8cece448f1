"""Suite-wide settings."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Test problems are tiny: one torch thread avoids OpenMP hand-off latency (and contention on
    a shared machine) without changing any result."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
