"""A cluster is a unit by its spikes' evidence, not by its share of the threshold crossings."""
import numpy as np

from engine.training.initialization import merge_templates
from engine.recording.fast_median import median
from engine.training.unit_evidence import idle_units, is_unit, shape_variation

TAPS = 90


def spike(peak: int, scale: float, spread: np.ndarray) -> np.ndarray:
    t = np.arange(TAPS) - peak
    wave = -np.exp(-0.5 * (t / 3.0) ** 2) + 0.4 * np.exp(-0.5 * ((t - 12) / 6.0) ** 2)
    return scale * spread[:, None] * wave[None, :]


SPREAD = np.linspace(1.0, 0.2, 8)


def jittered(template, n, rng):
    """Spikes of one unit: amplitudes spread ±20 %, arrival ±1 sample, in unit-variance noise."""
    spikes = np.stack([a * np.roll(template, s, axis=1)
                       for a, s in zip(rng.uniform(0.8, 1.2, n), rng.integers(-1, 2, n))])
    return spikes + rng.standard_normal(spikes.shape)


def overlaps(n, rng):
    """Two units' spikes at random lags in one window: no template explains them."""
    pairs = [spike(27, 20.0, SPREAD) + spike(27 + lag, 15.0, SPREAD[::-1]) for lag in rng.integers(-20, 20, n)]
    return np.stack(pairs) + rng.standard_normal((n, 8, TAPS))


def test_a_unit_is_its_template_plus_noise_and_overlapping_spikes_are_not():
    rng = np.random.default_rng(1)
    unit = spike(27, 20.0, SPREAD)
    assert is_unit(jittered(unit, 40, rng), unit)
    mixed = overlaps(40, rng)
    assert not is_unit(mixed, np.median(mixed, axis=0))
    assert not is_unit(jittered(unit, 5, rng), unit)  # too few spikes to tell


def test_a_rare_unit_unlike_every_other_is_kept_and_overlaps_are_left_out():
    rng = np.random.default_rng(2)
    busy_a, busy_b = spike(27, 20.0, SPREAD), spike(27, 12.0, SPREAD[::-1])
    rare = spike(27, 15.0, np.roll(SPREAD, 4))  # another neuron, a few dozen spikes
    members = [jittered(busy_a, 500, rng), jittered(busy_b, 400, rng), jittered(rare, 25, rng), overlaps(20, rng)]
    templates = [np.median(m, axis=0) for m in members]
    sizes = [len(m) for m in members]
    kept, kept_sizes = merge_templates(templates, sizes, None, 0.3, TAPS // 8, min_size=100, members=members)
    assert len(kept_sizes) == 3 and 25 in kept_sizes and 400 in kept_sizes  # the overlaps are no unit
    # without the spikes to judge by, the rare unit is left out with the overlaps (the share-of-crossings rule)
    _, share_rule = merge_templates(templates, sizes, None, 0.3, TAPS // 8, min_size=100)
    assert len(share_rule) == 2 and 25 not in share_rule


def drifting(scale: float, centre: float, n: int, rng, reach: float) -> np.ndarray:
    """Spikes of a unit whose footprint (a Gaussian over the 8 channels, centred at ``centre``) moves by up
    to ``reach`` channels from spike to spike, as residual drift leaves it after motion correction."""
    channels = np.arange(len(SPREAD))
    spikes = np.stack([a * spike(27 + s, scale, np.exp(-0.5 * ((channels - centre - d) / 2.0) ** 2))
                       for a, s, d in zip(rng.uniform(0.8, 1.2, n), rng.integers(-1, 2, n),
                                          rng.uniform(-reach, reach, n))])
    return spikes + rng.standard_normal(spikes.shape)


def test_a_rare_large_unit_may_vary_in_shape_as_much_as_the_certain_units_do():
    rng = np.random.default_rng(4)
    certain = [drifting(scale, centre, n, rng, reach) for scale, centre, n, reach in
               ((20.0, 1.5, 500, 0.3), (12.0, 3.5, 400, 0.5), (16.0, 5.5, 300, 0.7), (14.0, 2.5, 300, 0.6))]
    rare = drifting(30.0, 3.5, 25, rng, 0.4)  # the largest unit, 25 spikes, moving no more than the others
    variation = shape_variation(certain)
    assert variation > 0
    template = median(rare, axis=0)
    assert not is_unit(rare, template)  # judged as if shapes never varied, a large moving unit is no unit
    assert is_unit(rare, template, variation)
    mixed = overlaps(20, rng)
    assert not is_unit(mixed, np.median(mixed, axis=0), variation)  # two spikes together differ by a whole spike
    # the allowance is the recording's own: units that keep their shape allow (almost) none
    still = [jittered(spike(27, scale, SPREAD), n, rng) for scale, n in ((20.0, 500), (12.0, 400))]
    assert shape_variation(still) < variation / 10
    assert not is_unit(rare, template, shape_variation(still))


def test_one_unit_cut_by_k_means_is_one_unit_and_units_with_similar_troughs_are_two():
    from sklearn.cluster import KMeans
    from engine.training.unit_evidence import separated

    rng = np.random.default_rng(3)
    unit = jittered(spike(27, 10.0, SPREAD), 400, rng)
    halves = KMeans(2, n_init=3, random_state=0).fit_predict(unit.reshape(len(unit), -1))
    assert not separated(unit[halves == 0], unit[halves == 1])
    # the same trough depth on the same channels, another repolarisation: another neuron
    t = np.arange(TAPS) - 27
    broad = 10.0 * SPREAD[:, None] * (-np.exp(-0.5 * (t / 3.0) ** 2) + 0.4 * np.exp(-0.5 * ((t - 20) / 10.0) ** 2))
    assert separated(unit, jittered(broad, 60, rng))
    # one shape at twice the amplitude (a neuron nearer the contacts) is another unit too
    assert separated(unit, jittered(spike(27, 20.0, SPREAD), 60, rng))


def test_a_unit_too_idle_to_judge_over_the_whole_recording_is_left_out():
    # counted on a fifth of the recording: 2 spikes there are about 10 over all of it, 3 about 15
    assert idle_units(np.array([0, 2, 3, 100]), 0.2).tolist() == [0, 1]
    assert idle_units(np.array([11, 12]), 1.0).tolist() == [0]


def test_a_filter_that_codes_nothing_is_left_out_when_training_ends():
    import torch

    from engine.groundtruth.simulate import SimulationConfig, simulate_recording
    from engine.training.trainer import TrainConfig, Trainer

    recording = simulate_recording(SimulationConfig(minutes=0.5, units=2, channels=1, seed=3))
    trainer = Trainer(recording, TrainConfig(update="adam", bands=False))
    model = trainer.initialize()
    found = model.n_units
    junk = np.cos(np.pi * np.arange(model.n_taps))[None, None] / np.sqrt(model.n_taps)  # no spike looks like it
    with torch.no_grad():
        model.weight = torch.nn.Parameter(torch.cat([model.weight.detach(), torch.tensor(junk, dtype=torch.float32)]))
    model.support = np.concatenate([model.support, np.ones((1, model.n_channels), bool)])
    model.lipschitz = model.estimate_lipschitz()
    trainer.calibrate_floors()
    assert model.n_units == found
    assert np.abs((model.filters().reshape(found, -1) @ junk.ravel())).max() < 0.5
