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


def planted_counts(peak: float, n_frames: int = 4, size: int = 64, seed: int = 1):
    """A low-photon movie: cells that drift and flicker on a dim background, and its Poisson counts."""
    from engine.imaging.simulation import planted_frames
    clean = planted_frames(n_frames, size, n_cells=6, drift=3.0, seed=seed)
    return clean, poisson_noise(clean, peak, np.random.default_rng(seed))


def test_a_low_photon_stack_is_denoised_frame_by_frame_above_the_noisy_input():
    from engine.imaging.dcea import bundled_denoiser, denoise_stack
    clean, counts = planted_counts(2.0)
    model = bundled_denoiser(2.0)
    rate = denoise_stack(counts, model, batch_size=3)
    assert rate.shape == counts.shape and rate.dtype == np.float32
    for frame, noisy, truth in zip(rate, counts, clean):
        assert psnr(np.clip(frame / 2.0, 0, 1), truth) > psnr(np.clip(noisy / 2.0, 0, 1), truth) + 8.0
    # each frame as alone: the batch size changes nothing, and the single-image call is its view in [0, 1]
    np.testing.assert_allclose(denoise_stack(counts, model, batch_size=1), rate, atol=1e-5)
    np.testing.assert_allclose(denoise(counts[2], model), np.clip(rate[2] / model.peak, 0, 1), atol=1e-6)


@pytest.mark.parametrize("peak", [1.0, 2.0, 4.0])
def test_the_peak_estimated_from_a_stack_picks_a_model_near_its_peak(peak):
    from engine.imaging.stacks import check_counts
    _, counts = planted_counts(peak, n_frames=6, size=96)
    assert 0.5 * peak < check_counts("movie", counts) < 1.5 * peak


def write_stack(path, counts: np.ndarray, layout: str) -> None:
    import tifffile
    if layout == "npy":
        np.save(path, counts)
    elif layout == "tiff":
        tifffile.imwrite(path, counts)
    else:  # 2-D pages written one by one, as acquisition software often does
        with tifffile.TiffWriter(path) as tiff:
            for frame in counts:
                tiff.write(frame)


@pytest.mark.parametrize("layout, suffix", [("npy", ".npy"), ("tiff", ".tif"), ("pages", ".tif")])
def test_the_denoise_command_writes_a_stack_in_its_format_and_frame_order(layout, suffix, tmp_path, capsys):
    import tifffile
    clean, counts = planted_counts(2.0, n_frames=5)
    path = tmp_path / f"movie{suffix}"
    write_stack(path, counts.astype(np.uint16), layout)
    assert main(["--quiet", "denoise", str(path), "--batch-size", "2", "--json"]) == 0  # the peak estimated
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert captured.err == "" and summary["peak_estimated"] and summary["frames"] == 5
    out = tmp_path / f"movie.denoised{suffix}"
    rate = np.load(out) if suffix == ".npy" else tifffile.imread(out)
    assert rate.shape == counts.shape and rate.dtype == np.float32
    errors = ((rate[:, None] / 2.0 - clean[None]) ** 2).mean(axis=(2, 3))  # denoised frame x clean frame
    assert list(errors.argmin(axis=1)) == list(range(5))


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"),
    (np.ones((2, 3, 16, 16)), "expected an image (height x width) or a stack"),
    (np.ones(100), "expected an image"),
    (np.zeros((0, 16, 16)), "holds no frames"),
    (np.where(np.arange(3)[:, None, None] == 2, np.nan, np.ones((3, 16, 16))), "frame 2 holds NaN"),
    (np.where(np.arange(3)[:, None, None] == 1, -1.0, np.ones((3, 16, 16))), "frame 1 holds negative values"),
    ("not a tiff", "not a TIFF file"),
])
def test_a_bad_stack_is_named_in_one_line(content, problem, tmp_path, capsys):
    from tests.test_reliability_inputs import one_line_error
    path = tmp_path / ("movie.tif" if isinstance(content, str) else "movie.npy")
    if isinstance(content, str):
        path.write_text(content)
    elif content is not None:
        np.save(path, content)
    assert problem in one_line_error(capsys, "denoise", path, names=path)


def test_a_stack_is_not_written_as_a_picture(tmp_path, capsys):
    from tests.test_reliability_inputs import one_line_error
    path = tmp_path / "movie.npy"
    np.save(path, np.ones((3, 16, 16)))
    assert "written as .npy or .tif" in one_line_error(capsys, "denoise", path, "--out", tmp_path / "m.png",
                                                       names=tmp_path / "m.png")
