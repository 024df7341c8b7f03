"""EM lambda while training (TrainConfig.lam_auto): where it lands, and its controls."""
import pytest
import torch

from engine.training.em_lambda import GammaPrior, OnlineLambdaEM, lambda_update
from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.training.trainer import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_online_update_counts_one_code_per_slot_and_never_exceeds_the_anchor():
    em = OnlineLambdaEM(sigma=2.0, anchor=8.0, slot=10, weight=4.0)
    codes = torch.zeros(2, 3, 1000)
    codes[0, 0, ::50] = 50.0  # 20 spikes among 6000 samples = 600 slots
    prior = GammaPrior.around(8.0 / 4.0, 4.0 * 600)
    expected = 4.0 * (4.0 * 600 + 600) / (4.0 * 600 / 2.0 + 1000.0)
    assert em.update(codes) == pytest.approx(expected) == pytest.approx(4.0 * lambda_update(codes, prior, 600))
    assert em.update(torch.zeros(2, 3, 1000)) == 8.0  # no spike: the anchor, not infinity
    assert em.update(codes / 100) == 8.0  # small spikes would push lambda up: truncated


@pytest.fixture(scope="module")
def seed_half_minute():
    return simulate_recording(SimulationConfig(minutes=0.5, seed=2))


def test_auto_lambda_settles_near_the_noise_based_lambda_and_learns_the_filters(seed_half_minute):
    trainer = Trainer(seed_half_minute, TrainConfig(n_units=3, lam_auto=True, max_steps=12, filter_ms=4.5, device="cpu"),
                      snapshot_interval=0.0)
    snaps = list(trainer.steps())
    assert len(set(trainer.history.lam)) > 3  # it moves every step
    assert 0.75 < trainer.model.lam / trainer.noise_lambda < 1.0
    assert snaps[-1].lam == trainer.model.lam
    assert max(snaps[-1].filter_error) < 0.05


def test_a_manual_lambda_turns_auto_off_and_auto_turns_back_on(seed_half_minute):
    trainer = Trainer(seed_half_minute, TrainConfig(n_units=3, lam_auto=True, batch_size=4, device="cpu"),
                      snapshot_interval=0.0)
    list(trainer.steps(max_steps=2))
    trainer.set_lambda(123.0)
    list(trainer.steps(max_steps=2))
    assert not trainer.lambda_auto and trainer.model.lam == 123.0
    trainer.set_auto_lambda(True)
    list(trainer.steps(max_steps=1))
    assert trainer.lambda_auto and trainer.model.lam != 123.0
