"""Cached models and similarity never answer for filters they were not built from: two filter sets whose
arrays share an id (an update in place) get their own model and their own similarity matrix."""
import gc
import weakref

import numpy as np
from qt_windows import sorted_window

from app.workers import ModelCache, ModelSpec
from engine.groundtruth.simulate import SimulationConfig


def same_shapes(model, filters) -> bool:
    """The model's filters are these, up to each one's scale (the model normalises them)."""
    weight = model.weight.detach().numpy().reshape(len(filters), -1)
    flat = filters.reshape(len(filters), -1)
    cosine = (weight * flat).sum(1) / np.linalg.norm(weight, axis=1) / np.linalg.norm(flat, axis=1)
    return bool(np.all(cosine > 0.999))


def test_filters_updated_in_place_get_a_new_model(rng):
    cache = ModelCache()
    filters = rng.normal(size=(3, 1, 20)).astype(np.float32)
    first = cache.get(ModelSpec(filters, 1.0, 10, 0, version=1), 1e4)
    old = filters.copy()
    filters[:] = rng.normal(size=filters.shape)  # the same array, the same id, other filters
    second = cache.get(ModelSpec(filters, 1.0, 10, 0, version=2), 1e4)
    assert same_shapes(second, filters) and not same_shapes(second, old)
    assert cache.get(ModelSpec(filters, 2.0, 10, 0, version=2), 1e4) is second  # lambda alone: no rebuild
    assert first is not second


def test_the_cache_keeps_the_array_it_was_built_from_so_its_id_cannot_be_reused(rng):
    cache = ModelCache()
    filters = rng.normal(size=(2, 1, 16)).astype(np.float32)
    alive = weakref.ref(filters)
    cache.get(ModelSpec(filters, 1.0, 10, 0), 1e4)
    del filters
    gc.collect()
    assert alive() is not None


def test_the_similarity_view_follows_filters_updated_in_place(qtbot, tmp_path):
    with sorted_window(qtbot, tmp_path, SimulationConfig(minutes=0.1, seed=3)) as win:
        c, view = win.controller, win.curation_docks["Similarity"].widget()
        c.set_selected_units([0])
        qtbot.waitUntil(lambda: view.matrix.shape == (3, 3), timeout=10_000)  # from the jobs thread
        before = view.matrix.copy()
        assert before[0, 1] < 0.99
        c.filters[1] = c.filters[0]  # in place: the array keeps its id
        c.filtersChanged.emit(c.filters)
        c.curation.changed.emit()
        qtbot.waitUntil(lambda: view.matrix[0, 1] > 0.99, timeout=10_000)
        assert not np.allclose(view.matrix, before)
