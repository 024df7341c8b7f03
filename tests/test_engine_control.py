import threading

import numpy as np

from engine.groundtruth.simulate import SimulationConfig, simulate_recording
from engine.training.trainer import TrainConfig, Trainer


def small_trainer(**kwargs):
    rec = simulate_recording(SimulationConfig(minutes=0.25, seed=3))
    cfg = TrainConfig(n_units=3, batch_size=4, segment_ms=100, n_steps=10, debias_steps=5, device="cpu", **kwargs)
    return Trainer(rec, cfg, snapshot_interval=0.0)


def test_lambda_change_from_another_thread_applies_between_steps():
    trainer = small_trainer(max_steps=50)
    seen = []
    for snap in trainer.steps(max_steps=6):
        seen.append(snap.lam)
        if snap.step == 2:
            threading.Thread(target=trainer.set_lambda, args=(123.0,)).start()
    assert seen[0] != 123.0
    assert seen[-1] == 123.0
    assert trainer.model.lam == 123.0


def test_stop_ends_training_early():
    trainer = small_trainer(max_steps=1000)
    steps = []
    for snap in trainer.steps():
        steps.append(snap.step)
        if snap.step == 3:
            trainer.stop()
    assert steps[-1] <= 4
    assert trainer.stopped


def test_pause_blocks_until_resume():
    trainer = small_trainer(max_steps=1000)
    trainer.initialize()
    trainer.pause()
    done = []

    def run():
        for snap in trainer.steps(max_steps=3):
            done.append(snap.step)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=1.0)
    assert worker.is_alive() and trainer.step == 0
    trainer.resume()
    worker.join(timeout=60)
    assert not worker.is_alive() and trainer.step == 3


def test_adam_update_trains_through_the_unrolled_encoder():
    trainer = small_trainer(max_steps=3, update="adam")
    before = trainer.initialize().filters()
    list(trainer.steps())
    after = trainer.model.filters()
    assert not np.allclose(before, after)
    np.testing.assert_allclose(np.linalg.norm(after.reshape(3, -1), axis=1), 1.0, rtol=1e-5)


def test_training_stops_once_the_filters_settle_within_the_tolerance():
    from engine.training.trainer import SETTLED_STEPS

    loose = small_trainer(max_steps=40, tolerance=1.0)  # any step moves a unit-norm filter by less than 1
    list(loose.steps())
    assert loose.step == SETTLED_STEPS
    strict = small_trainer(max_steps=8, tolerance=1e-9)
    list(strict.steps())
    assert strict.step == 8
