import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def seed_minute():
    """60 s of the seed data set: 3 units, 10 kHz, 30 Hz, with ground truth."""
    from engine.groundtruth.simulate import SimulationConfig, simulate_recording
    return simulate_recording(SimulationConfig(minutes=1.0, seed=1))


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def one_torch_thread():
    """Small tensors on a shared 2-core machine: a second thread only spins."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
