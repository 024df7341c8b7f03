"""Poisson image denoising (engine.imaging.dcea): DCEA-C and DCEA-UC above the noisy
input on planted images, parameter counts, saved models and the ``denoise`` command."""
import json

import numpy as np
import pytest
import torch

from engine.cli.commands import main
from engine.imaging.dcea import (DenoiserConfig, PoissonImageDCEA, bundled_name, denoise, initial_filters,
                                 load_denoiser, poisson_noise, psnr, save_denoiser, train_denoiser)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PEAK = 4.0


def planted_image(rng, size=40) -> np.ndarray:
    """A piecewise-smooth image in [0.1, 1]: a gradient with bright disks and a dark rectangle."""
    rows, cols = np.mgrid[:size, :size] / size
    image = 0.3 + 0.3 * rows
    for _ in range(3):
        centre = rng.uniform(0.2, 0.8, 2)
        image[(rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 < rng.uniform(0.01, 0.03)] = 0.95
    top, left = rng.integers(0, size // 2, 2)
    image[top:top + size // 4, left:left + size // 3] = 0.1
    return image


def small_config(tied: bool) -> DenoiserConfig:
    return DenoiserConfig(peak=PEAK, tied=tied, n_filters=8, filter_size=5, n_steps=6, train_steps=50, batch_size=4,
                          patch_size=24, learning_rate=1e-2)


@pytest.mark.parametrize("tied", [True, False], ids=["DCEA-C", "DCEA-UC"])
def test_a_trained_denoiser_beats_the_noisy_input_and_a_box_blur_on_planted_images(tied, rng):
    from scipy.ndimage import uniform_filter
    images = [planted_image(rng) for _ in range(6)]
    model = train_denoiser(images, small_config(tied))
    gains, over_blur = [], []
    for _ in range(3):
        clean = planted_image(rng)
        counts = poisson_noise(clean, PEAK, rng)
        noisy = psnr(np.clip(counts / PEAK, 0, 1), clean)
        denoised = psnr(denoise(counts, model), clean)
        gains.append(denoised - noisy)
        over_blur.append(denoised - psnr(np.clip(uniform_filter(counts / PEAK, 3), 0, 1), clean))
    assert min(gains) > 6.0, gains
    assert np.mean(over_blur) > 0.0, over_blur


def test_parameter_counts_of_the_tied_and_the_untied_model(rng):
    filters = initial_filters(10, 7, rng)
    assert PoissonImageDCEA(filters, 1.0, tied=True).n_parameters() == 10 * 49 + 10 + 1
    assert PoissonImageDCEA(filters, 1.0, tied=False).n_parameters() == 3 * 10 * 49 + 10 + 1


def test_the_filters_stay_unit_norm_and_the_step_stays_stable(rng):
    model = train_denoiser([planted_image(rng)], DenoiserConfig(peak=1.0, n_filters=4, filter_size=5, n_steps=4,
                                                                train_steps=5, batch_size=2, patch_size=16))
    norms = model.weight.detach().flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(4))
    # the Lipschitz bound holds on an image: ||H^T H v|| <= L ||v||
    v = torch.randn(1, 4, 20, 20)
    with torch.no_grad():
        hthv = model._correlate(model._convolve(v, model.weight), model.weight)
    assert float(hthv.norm()) <= model.lipschitz * float(v.norm())


def test_a_saved_model_denoises_as_the_original(tmp_path, rng):
    model = PoissonImageDCEA(initial_filters(6, 5, rng), 2.0, tied=False, n_steps=4, lam=0.7)
    path = tmp_path / "model.npz"
    save_denoiser(path, model)
    counts = poisson_noise(planted_image(rng, 24), 2.0, rng)
    np.testing.assert_allclose(denoise(counts, load_denoiser(path)), denoise(counts, model), atol=1e-6)


def test_the_denoise_command_simulates_denoises_and_writes(tmp_path, rng, capsys):
    model = train_denoiser([planted_image(rng) for _ in range(4)], small_config(True))
    model_path, image_path, out = tmp_path / "m.npz", tmp_path / "clean.npy", tmp_path / "out.npy"
    save_denoiser(model_path, model)
    np.save(image_path, planted_image(rng, 48))
    assert main(["denoise", str(image_path), "--peak", "4", "--model", str(model_path), "--simulate",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["psnr_denoised"] > summary["psnr_noisy"] + 6.0
    assert np.load(out).shape == (48, 48)


def test_the_denoise_command_reports_bad_input_in_one_line(tmp_path, capsys):
    assert main(["denoise", str(tmp_path / "missing.npy"), "--peak", "1", "--model", "x.npz"]) == 2
    np.save(tmp_path / "negative.npy", -np.ones((16, 16)))
    assert main(["denoise", str(tmp_path / "negative.npy"), "--peak", "0"]) == 2
    assert "error" in capsys.readouterr().err


def test_bundled_models_are_named_by_their_peak():
    assert bundled_name(1.0, True) == "dcea_c_peak1.npz" and bundled_name(0.5, False) == "dcea_uc_peak0.5.npz"


@pytest.mark.parametrize("tied", [True, False], ids=["DCEA-C", "DCEA-UC"])
def test_the_bundled_models_load_for_any_peak_and_denoise(tied, rng):
    from engine.imaging.dcea import bundled_denoiser
    model = bundled_denoiser(3.0, tied)
    assert model.tied == tied and model.peak == 4.0  # the nearest of the trained peaks 1, 2, 4
    clean = planted_image(rng, 64)
    counts = poisson_noise(clean, 4.0, rng)
    assert psnr(denoise(counts, model), clean) > psnr(np.clip(counts / 4.0, 0, 1), clean) + 8.0
