"""The curation model: merge / split / label / undo / redo keep spikes and assignments consistent."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.curation.model import Curation, CurationError

FS = 10_000.0


def make_sort(n_units=4, per_unit=50, seed=0):
    rng = np.random.default_rng(seed)
    times = np.concatenate([np.sort(rng.choice(np.arange(0, 1_000_000, 20), per_unit, replace=False))
                            for _ in range(n_units)])
    units = np.repeat(np.arange(n_units), per_unit)
    order = np.argsort(times, kind="stable")
    return times[order], units[order]


def new_curation(n_units=4, per_unit=50, seed=0, **kwargs):
    times, units = make_sort(n_units, per_unit, seed)
    return Curation(times, units, n_units, FS, **kwargs)


def snapshot(c: Curation):
    return c.spike_clusters(), c.cluster_labels(), c.cluster_ids()


def assert_same(a, b):
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]


def test_starts_as_the_sort():
    c = new_curation()
    assert np.array_equal(c.spike_clusters(), c.units)
    assert c.cluster_ids() == [0, 1, 2, 3]
    assert set(c.cluster_labels().values()) == {"unsorted"}


def test_merge_split_label_undo_redo():
    c = new_curation()
    merged = c.merge([0, 2])
    assert merged == 4 and c.cluster_ids() == [1, 3, 4]
    assert c.counts()[4] == 100
    part = c.spikes_of(4)[:30]
    new = c.split(4, part)
    assert c.counts() == {1: 50, 3: 50, 4: 70, 5: 30}
    assert np.array_equal(c.spikes_of(5), part)
    c.label([5, 1], "good")
    c.delete([3])
    c.note(5, "clean, fast-spiking")
    assert c.cluster_labels() == {1: "good", 3: "noise", 4: "unsorted", 5: "good"}
    assert c.note_of(new) == "clean, fast-spiking"
    after_split = None
    for _ in range(3):
        c.undo()
    after_split = snapshot(c)
    assert c.cluster_ids() == [1, 3, 4, 5] and set(c.cluster_labels().values()) == {"unsorted"}
    c.undo()
    assert c.cluster_ids() == [1, 3, 4]
    c.undo()
    assert np.array_equal(c.spike_clusters(), c.units)
    for _ in range(5):
        c.redo()
    assert c.cluster_labels() == {1: "good", 3: "noise", 4: "unsorted", 5: "good"}
    for _ in range(3):
        c.undo()
    assert_same(snapshot(c), after_split)
    c.label([1], "mua")  # a new action drops what could be redone
    assert not c.can_redo


def test_recluster_split_into_several_groups_keeps_the_rest():
    c = new_curation()
    spikes = c.spikes_of(1)
    new = c.split_groups(1, [spikes[:10], spikes[10:25]])
    assert c.counts()[1] == 25 and c.counts()[new[0]] == 10 and c.counts()[new[1]] == 15


@pytest.mark.parametrize("bad", [lambda c: c.merge([0]), lambda c: c.merge([0, 9]),
                                 lambda c: c.split(0, c.spikes_of(1)[:3]), lambda c: c.split(0, c.spikes_of(0)),
                                 lambda c: c.label([0], "excellent"), lambda c: c.undo(), lambda c: c.redo()])
def test_invalid_actions_are_refused_and_change_nothing(bad):
    c = new_curation()
    before = snapshot(c)
    with pytest.raises(CurationError):
        bad(c)
    assert_same(snapshot(c), before)
    assert c.revision == 0


def test_serialised_curation_replays_to_the_same_state():
    c = new_curation()
    c.merge([1, 2])
    c.split(4, c.spikes_of(4)[::3])
    c.label([0], "good")
    c.undo()
    copy = Curation.from_dict(c.to_dict(), c.times, c.units, c.n_units, FS)
    assert_same(snapshot(copy), snapshot(c))
    copy.redo()
    assert copy.label_of(0) == "good"


def test_curation_follows_the_filters_through_a_re_sort():
    c = new_curation()
    merged = c.merge([0, 2])
    c.label([merged], "good")
    c.label([3], "noise")
    chosen = c.spikes_of(1)[:20]
    chosen_times = c.times[chosen]
    split = c.split(1, chosen)
    # a re-sort: every time moves by up to 2 samples, some spikes vanish, new ones appear
    rng = np.random.default_rng(5)
    keep = rng.random(len(c.times)) > 0.1
    keep[chosen[:10]] = True
    times = c.times[keep] + rng.integers(-2, 3, keep.sum())
    units = c.units[keep]
    extra_times = rng.integers(0, 1_000_000, 30)
    times, units = np.concatenate([times, extra_times]), np.concatenate([units, rng.integers(0, 4, 30)])
    c.rebase(times, units, 4)
    clusters = c.spike_clusters()
    assert np.all(clusters[np.isin(units, [0, 2])] == merged)
    assert c.cluster_labels()[merged] == "good" and c.cluster_labels()[3] == "noise"
    split_times = times[clusters == split]
    assert len(split_times) >= 10
    assert np.all(np.min(np.abs(split_times[:, None] - chosen_times[None, :]), axis=1) <= 2)
    assert len(clusters) == len(times)


def test_a_sort_with_another_unit_count_is_refused():
    c = new_curation()
    with pytest.raises(CurationError):
        c.rebase(c.times, c.units, 5)


# -- property-based: any sequence of actions keeps the books balanced ----------------------------

operation = st.tuples(st.sampled_from(["merge", "split", "label", "undo", "redo", "recluster"]),
                      st.integers(0, 10_000), st.integers(0, 10_000))


def _try(c: Curation, op: str, a: int, b: int) -> bool:
    """Apply the operation if it makes sense here; whether it became an action (or undo / redo)."""
    revision = c.revision
    ids = c.cluster_ids()
    if op == "merge" and len(ids) >= 2:
        c.merge([ids[a % len(ids)], ids[b % len(ids)]] if a % len(ids) != b % len(ids) else ids[:2])
    elif op in ("split", "recluster"):
        cluster = ids[a % len(ids)]
        spikes = c.spikes_of(cluster)
        if len(spikes) < 3:
            return False
        k = 1 + b % (len(spikes) - 1)
        if op == "split":
            c.split(cluster, spikes[np.random.default_rng(b).permutation(len(spikes))[:k]])
        else:
            c.split_groups(cluster, [spikes[:k // 2 + 1], spikes[k // 2 + 1:k + 1]] if k + 1 < len(spikes)
                           else [spikes[:1]])
    elif op == "label":
        c.label([ids[a % len(ids)]], ["good", "mua", "noise", "unsorted"][b % 4])
    elif op == "undo" and c.can_undo:
        c.undo()
    elif op == "redo" and c.can_redo:
        c.redo()
    return c.revision > revision


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_any_sequence_keeps_counts_assignments_and_undo_consistent(ops):
    c = new_curation(n_units=3, per_unit=12, seed=2)
    n = len(c.times)
    history = [snapshot(c)]  # state after each applied action, for checking undo
    journal = []
    c.journal = type("J", (), {"append": lambda self, e: journal.append(e)})()
    for op, a, b in ops:
        if not _try(c, op, a, b):
            continue
        clusters = c.spike_clusters()
        assert len(clusters) == n
        assert set(np.unique(clusters)) <= set(c.cluster_ids())
        assert sum(c.counts().values()) == n
        assert set(c.cluster_labels()) == set(c.cluster_ids())
        for cluster in c.cluster_ids():  # a cluster only ever holds spikes of the filters it was made of
            assert set(c.filters_of(cluster)) <= set(range(3))
            # the cached table of every cluster's filters and counts equals one pass over the spikes
            assert c.filters_of(cluster) == np.unique(c.units[clusters == cluster]).tolist()
            assert c.counts()[cluster] == np.count_nonzero(clusters == cluster)
        if op == "undo":
            assert_same(snapshot(c), history[-2])
            history.pop()
        else:
            history.append(snapshot(c))
    replayed = Curation(c.times, c.units, 3, FS, curation_id=c.curation_id)
    replayed.replay(journal)
    assert_same(snapshot(replayed), snapshot(c))
    assert replayed.to_dict() == c.to_dict()
