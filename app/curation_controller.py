"""Curation state of the application: the engine's Curation, its journal, quality metrics, spike selection.

Owned by the Controller (``controller.curation``); views read it and react to
``changed`` and ``spikeSelectionChanged``. Unit selection stays on the
Controller and means cluster ids; a cluster the sorter made has its filter's
index, so the filter, raster and trace views (which show filters) agree with it
until clusters are merged or split.
"""
from __future__ import annotations

import os

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from engine.curation.cluster_table import ClusterTable
from engine.curation.model import Curation, CurationError
from engine.curation.features import pca_features
from engine.curation.local import local_snippets
from engine.curation.measure import measure
from engine.curation.store import fold_journal, open_curation, relocate_journal
from engine.curation.journal import Journal, journal_path, set_aside
from engine.curation.recluster import RECLUSTER_PARTS, recluster
from engine.curation.model import DELETED_LABEL
from engine.io.session import Session
from engine.sorting.same_neuron import merge_in_curation
from app.colors import cluster_color
from app.process_jobs import ProcessRunner
from app.sessions import default_session_path

QUALITY_DELAY_MS = 300
PROCESS_MIN_WORK = 2048  # clusters x channels from which quality metrics are measured in a process
PROCESS_MIN_SPIKES = 500_000
MEMBERS_KEPT = 16  # clusters whose spikes are kept (a selection's views ask for the same few)


def recluster_groups(recording, times, spikes, method: str = "kmeans") -> list[np.ndarray]:
    """The spikes k-means (or K-deep simplex, "kds": engine.curation.recluster) puts apart from the largest
    group (PCA features of their snippets on the cluster's own channels)."""
    features = pca_features(local_snippets(recording, times)[0], 3)
    parts = recluster(features, method, RECLUSTER_PARTS)
    largest = np.bincount(parts).argmax()
    return [spikes[parts == p] for p in range(RECLUSTER_PARTS) if p != largest]


def measure_in_process(recording, n_spikes: int, n_clusters: int) -> bool:
    """Whether a measurement is worth a process of its own (spawning one costs a second or two)."""
    return n_clusters * recording.n_channels >= PROCESS_MIN_WORK or n_spikes >= PROCESS_MIN_SPIKES


class CurationController(QObject):
    changed = pyqtSignal()  # clusters, labels or notes changed (also after a re-sort)
    # a window's re-sort spliced into the spikes: the clusters are the same, their spikes changed on
    # screen only (Traces, Raster); ``changed`` follows with the next whole sort
    windowChanged = pyqtSignal()
    measured = pyqtSignal()  # quality metrics and merge evidence arrived for the current clusters
    spikeSelectionChanged = pyqtSignal(object)  # indices into controller.spikes

    def __init__(self, controller):
        super().__init__(controller)
        self.controller = controller
        self.curation: Curation | None = None
        self.session_path: str | None = None
        self.quality: dict = {}
        self.evidence: list = []  # engine.curation.suggestions.PairEvidence, suggested first
        self._clusters, self._clusters_key, self._clusters_base = None, None, None  # spike_clusters() cache
        self._members, self._members_base = {}, None  # spikes_of() of recent clusters, for that spike_clusters()
        self._table = None  # (spike_clusters(), the spikes, cluster_table())
        self.spike_selection = np.zeros(0, dtype=np.int64)
        self._saved: dict | None = None  # a loaded session's curation, waiting for its spikes
        self._quality_timer = QTimer(self, singleShot=True, interval=QUALITY_DELAY_MS)
        self._quality_timer.timeout.connect(self._on_quality_timer)
        controller.spikesChanged.connect(self._on_spikes)
        controller.recordingChanged.connect(lambda _: self._forget())
        self.runner = ProcessRunner()  # quality metrics of many units: in a process, off the GIL
        controller.shutdownFinished.connect(self.runner.close)

    # -- life cycle ----------------------------------------------------------------------
    def _forget(self) -> None:
        self._close_journal()
        self.curation, self.session_path, self._saved, self.quality, self.evidence = None, None, None, {}, []
        self.spike_selection = np.zeros(0, dtype=np.int64)
        self.changed.emit()

    def _close_journal(self) -> None:
        if self.curation is not None and self.curation.journal is not None:
            self.curation.journal.close()

    def adopt_session(self, path: str, session: Session) -> None:
        """A session was loaded: its curation and journal apply to the spikes that come next."""
        self._close_journal()
        self.curation, self.session_path = None, os.fspath(path)
        self._saved = getattr(session, "curation", None) or None

    def _on_spikes(self, spikes) -> None:
        if spikes is None:
            return
        c = self.curation
        if c is not None and c.n_units == spikes.n_units:
            c.rebase(spikes.times, spikes.units, spikes.n_units)
            if self.controller.spikes_spliced:  # the same clusters: only the window's views change
                self._quality_timer.start()
                self.select_spikes([])
                self.windowChanged.emit()
                return
        elif self.session_path is not None and c is None:
            self.curation = open_curation(self.session_path, self._saved, spikes.times, spikes.units,
                                          spikes.n_units, spikes.sampling_rate, notify=self.controller.report_error)
        else:  # the first sort, or a new model with another unit count: a fresh curation
            self._close_journal()
            self.curation = Curation(spikes.times, spikes.units, spikes.n_units, spikes.sampling_rate)
            if self.session_path is not None:
                path = journal_path(self.session_path)
                if os.path.exists(path):
                    set_aside(path)
                self.curation.journal = Journal(path, self.curation.curation_id)
        self._saved = None
        self._merge_same_neurons(spikes.merges)
        self._quality_timer.start()  # re-sorts arrive in bursts while training: measure once they settle
        self._after_change(keep_selection=True, measure=False)

    def _merge_same_neurons(self, groups) -> None:
        """A whole sort's units that are one neuron (engine.sorting.same_neuron), merged as a new
        curation's first actions. Once the curation has any action (these merges, an undo of them,
        the user's own), it is the user's: later sorts of the same filters, and the session reopened,
        never merge behind their back."""
        if not groups or self.curation is None or self.curation.revision:
            return
        try:
            made = merge_in_curation(self.curation, groups)
        except CurationError as exc:
            self.controller.message.emit(f"Curation: {exc}")
            return
        if made:
            self.controller.notice.emit(f"{len(made)} group(s) of units that are one neuron were "
                                        "merged (Curation > Undo to keep them apart)")

    # -- sessions --------------------------------------------------------------------------
    def attach_to(self, session: Session) -> None:
        if self.curation is not None:
            session.curation = self.curation.to_dict()

    def session_saved(self, path: str) -> None:
        self.session_path = os.fspath(path)
        if self.curation is None:
            return
        relocate_journal(self.curation, path)
        fold_journal(self.curation)

    def _ensure_journal(self) -> None:
        """Before the first action: save a session next to the recording so the journal has a home."""
        c = self.controller
        if self.curation.journal is None and self.session_path is None and c.recording_path:
            path = default_session_path(c.recording_path, c.recordings_folder)
            if c.save_session(path):
                c.notice.emit(f"Curation is saved as you go to {path} (File > Save session as... to move it)")

    # -- actions (each journaled by the engine before it returns) -------------------------------
    def _act(self, action, select=None) -> bool:
        if self.curation is None:
            return False
        self._ensure_journal()
        try:
            result = action(self.curation)
        except CurationError as exc:
            self.controller.message.emit(f"Curation: {exc}")
            return False
        self._after_change()
        if select is not None:
            self.controller.set_selected_units(select(result))
        return True

    def merge(self, clusters=None) -> bool:
        clusters = list(clusters if clusters is not None else self.controller.selected_units)
        return self._act(lambda c: c.merge(clusters), select=lambda into: [into])

    def split(self) -> bool:
        """Split the selected cluster: the selected spikes go to a new cluster."""
        selected = self.controller.selected_units
        if len(selected) != 1:
            self.controller.message.emit("Curation: select one unit to split")
            return False
        cluster = selected[0]
        spikes = np.intersect1d(self.spike_selection, self.curation.spikes_of(cluster)) if self.curation else []
        return self._act(lambda c: c.split(cluster, spikes), select=lambda into: [cluster, into])

    def recluster(self, method: str = "kmeans") -> bool:
        """Split the selected cluster by k-means (or ``method``) on the PCA features of its spikes' waveforms
        (computed on the jobs thread; the split follows when they arrive, unless the curation changed meanwhile)."""
        selected = self.controller.selected_units
        if len(selected) != 1 or self.curation is None:
            return False
        cluster, curation = selected[0], self.curation
        spikes = curation.spikes_of(cluster)
        if len(spikes) < 2 * RECLUSTER_PARTS:
            return False
        recording, times, revision = self.controller.recording, curation.times[spikes], curation.revision

        def done(groups) -> None:
            if self.curation is curation and curation.revision == revision:
                self._act(lambda c: c.split_groups(cluster, groups), select=lambda into: [cluster, *into])

        self.controller.jobs.submit("Re-clustering",
                                    lambda progress: recluster_groups(recording, times, spikes, method),
                                    done, kind="recluster", lane="views")
        return True

    def label(self, label: str, clusters=None) -> bool:
        clusters = list(clusters if clusters is not None else self.controller.selected_units)
        return bool(clusters) and self._act(lambda c: c.label(clusters, label))

    def note(self, cluster: int, text: str) -> bool:
        return self._act(lambda c: c.note(cluster, text))

    def undo(self) -> bool:
        """Undo the last action and select the clusters it had named, as they were before it."""
        if self.curation is None or not self.curation.can_undo:
            return False
        named = _named_clusters(self.curation.done[-1])
        return self._act(lambda c: c.undo(), select=lambda _: named)

    def redo(self) -> bool:
        if self.curation is None or not self.curation.can_redo:
            return False
        action = self.curation.undone[-1]
        return self._act(lambda c: c.redo(), select=lambda _: _named_clusters(action, after=True))

    def step_selection(self, step: int) -> None:
        """Select the next (step 1) or previous (-1) cluster of the units table."""
        ids = self.cluster_ids()
        if not ids:
            return
        current = self.controller.selected_units
        index = ids.index(current[-1]) + step if current and current[-1] in ids else 0
        self.controller.set_selected_units([ids[index % len(ids)]])

    def select_spikes(self, spike_indices) -> None:
        self.spike_selection = np.unique(np.asarray(spike_indices, dtype=np.int64))
        self.spikeSelectionChanged.emit(self.spike_selection)

    # -- what views read ---------------------------------------------------------------------------
    def cluster_ids(self) -> list[int]:
        return self.curation.cluster_ids() if self.curation is not None else []

    def spike_clusters(self) -> np.ndarray:
        """The cluster of every spike (read-only, shared: computed once per change, not per frame)."""
        key = (id(self.curation), self.curation.revision, len(self.curation.times)) if self.curation else None
        if key is None:
            return np.zeros(0, np.int64)
        if self._clusters_key != key or self._clusters_base is not self.curation.times:
            self._clusters = self.curation.spike_clusters()
            self._clusters.setflags(write=False)
            self._clusters_key, self._clusters_base = key, self.curation.times
        return self._clusters

    def label_of(self, cluster: int) -> str | None:
        return self.curation.label_of(cluster) if self.curation is not None else None

    def color(self, cluster: int):
        """The cluster's colour in every view (grey when labelled noise)."""
        return cluster_color(cluster, self.label_of(cluster))

    def shown_ids(self) -> list[int]:
        """The clusters the views draw: all, or all but those labelled noise when the user hides them."""
        ids = self.cluster_ids()
        if not self.controller.hide_noise or self.curation is None:
            return ids
        return [k for k in ids if self.curation.label_of(k) != DELETED_LABEL]

    def cluster_table(self) -> ClusterTable | None:
        """Every cluster's count, mean amplitude and firing density (engine.curation.cluster_table), once per
        change; None without a curation of the current spikes."""
        c, curation = self.controller, self.curation
        if curation is None or c.spikes is None or c.recording is None or len(c.spikes) != len(curation.times):
            return None
        clusters = self.spike_clusters()
        if self._table is None or self._table[0] is not clusters or self._table[1] is not c.spikes:
            table = ClusterTable.of(clusters, curation.filter_counts(), curation.times, c.spikes.amplitudes,
                                    c.recording.n_samples, c.recording.sampling_rate)
            self._table = (clusters, c.spikes, table)
        return self._table[2]

    def spikes_of(self, cluster: int) -> np.ndarray:
        """The cluster's spikes (read-only, shared: the views of one selection ask for them once between them)."""
        clusters = self.spike_clusters()
        if self._members_base is not clusters:
            self._members, self._members_base = {}, clusters
        cluster = int(cluster)
        if cluster not in self._members:
            if len(self._members) >= MEMBERS_KEPT:
                self._members.pop(next(iter(self._members)))
            self._members[cluster] = np.flatnonzero(clusters == cluster)
            self._members[cluster].setflags(write=False)
        return self._members[cluster]

    def _measure(self) -> None:
        """Quality metrics and merge evidence off the GUI thread (many units: in a process, app/process_jobs.py,
        so the GUI thread keeps the GIL); ``measured`` when they arrive."""
        c, curation = self.controller, self.curation
        if curation is None or c.recording is None or c.spikes is None or len(c.spikes) != len(curation.times):
            self.quality, self.evidence = {}, []
            self.measured.emit()
            return
        noise = [k for k, label in curation.cluster_labels().items() if label == DELETED_LABEL]
        revision = curation.revision
        args = (c.recording, curation.times.copy(), c.spikes.amplitudes.copy(), curation.spike_clusters(),
                curation.cluster_ids(), c.noise_sigma, noise)

        def done(result) -> None:
            if self.curation is curation and curation.revision == revision:
                self.quality, self.evidence = result
                self.measured.emit()

        if measure_in_process(c.recording, len(curation.times), len(args[4])):
            work = lambda progress: self.runner.run(measure, args, progress)  # noqa: E731
        else:
            work = lambda progress: measure(*args, progress)  # noqa: E731
        c.jobs.submit("Measuring the units", work, done, kind="measure")

    @property
    def settled(self) -> bool:
        """No measurement waiting to start or running."""
        return not self._quality_timer.isActive() and not any(j.kind == "measure" for j in self.controller.jobs.pending)

    def suggestions(self) -> list:
        live = set(self.cluster_ids())
        return [e for e in self.evidence if e.suggested and e.a in live and e.b in live]

    def _on_quality_timer(self) -> None:
        self._measure()

    def _after_change(self, keep_selection: bool = False, measure: bool = True) -> None:
        c, curation = self.controller, self.curation
        if measure:
            self._quality_timer.stop()
            self._measure()  # the revision changed: any measurement in flight is dropped
        live = set(curation.cluster_ids())
        if not keep_selection or any(u not in live for u in c.selected_units):
            c.set_selected_units([u for u in c.selected_units if u in live])
        self.select_spikes([])
        self.changed.emit()


def _named_clusters(action: dict, after: bool = False) -> list[int]:
    """The clusters an action names: before it (for undo) or after it (for redo)."""
    if action["op"] == "merge":
        return [action["into"]] if after else list(action["clusters"])
    if action["op"] == "split":
        return [action["cluster"], *action["into"]] if after else [action["cluster"]]
    return list(action.get("clusters", [action.get("cluster")]))
