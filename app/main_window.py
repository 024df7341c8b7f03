"""The main window: docks for the views, the action registry, files, settings and the status bar."""
from __future__ import annotations

import os
from functools import partial

import h5py
from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import (QApplication, QDialog, QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow,
                             QMessageBox, QProgressBar, QWidget)

from app.actions import ActionRegistry, load_overrides
from app.help_page import HelpPage
from app.controller import IDLE, PAUSED, TRAINING, Controller
from app.curation_window import install_curation
from app.motifs_window import install_motifs
from app.settings import WINDOW_DEFAULTS
from app.workers import dask_source
from app.dialogs import RawBinaryDialog
from app.layout import apply_default_proportions, default_window_size
from app.exporting import export_nwb_dialog, export_phy_dialog
from app.views.curves import CurvesView
from app.views.drift_map import DriftMapView
from app.views.filters import FilterView
from app.views.log import LogView
from app.views.probe import ProbeView
from app.views.raster import RasterView
from app.views.training import TrainingPanel
from app.views.traces import TraceView
from app.views.units import UnitsView
from app.sessions import default_session_path, is_demo
from engine.recording.registry import file_dialog_filter, needs_layout

LAMBDA_STEP = 1.25
NOTICE_MS = 15000
JOB_BAR_DELAY_MS = 250
SESSION_FILTER = "sparsesort sessions (*.h5);;All files (*)"


def is_session_file(path: str) -> bool:
    try:
        with h5py.File(path, "r") as h5:
            return "schema_version" in h5.attrs and "model" in h5
    except OSError:
        return False


class MainWindow(QMainWindow):
    def __init__(self, controller: Controller | None = None, settings: QSettings | None = None):
        super().__init__()
        self.setWindowTitle("sparsesort")
        self.setObjectName("sparsesort-main")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        # A central widget of no height between the Traces (top area) and the Raster and Curves (bottom area):
        # without one, Qt's dock layout moved one separator (6 px) of the middle column's width to the side
        # columns at every re-layout (a status-bar text while training, a progress bar shown): the Traces shrank.
        spacer = QWidget()
        spacer.setMaximumHeight(0)
        self.setCentralWidget(spacer)
        self.controller = controller or Controller(self)
        self.settings = settings or QSettings("sparsesort", "sparsesort")
        self.last_error: str | None = None
        self._error_box: QMessageBox | None = None
        c = self.controller
        self.traces = TraceView(c)
        self.filters = FilterView(c)
        self.raster = RasterView(c)
        self.curves = CurvesView(c)
        self.units = UnitsView(c)
        self.log = LogView(c)
        self.drift_map = DriftMapView(c)
        self.probe = ProbeView(c)
        self.training = TrainingPanel(c)
        self.raster.follow(self.traces.plot)  # the Raster shows the Traces' time window
        self.docks: dict[str, QDockWidget] = {}
        area = Qt.DockWidgetArea
        # The left and right columns run the window's full height; Traces, Raster and Curves share the middle.
        for corner, side in ((Qt.Corner.TopLeftCorner, area.LeftDockWidgetArea),
                             (Qt.Corner.BottomLeftCorner, area.LeftDockWidgetArea),
                             (Qt.Corner.TopRightCorner, area.RightDockWidgetArea),
                             (Qt.Corner.BottomRightCorner, area.RightDockWidgetArea)):
            self.setCorner(corner, side)
        for name, view, where in (("Traces", self.traces, area.TopDockWidgetArea),
                                  ("Training", self.training, area.LeftDockWidgetArea),
                                  ("Filters", self.filters, area.RightDockWidgetArea),
                                  ("Raster", self.raster, area.BottomDockWidgetArea),
                                  ("Curves", self.curves, area.BottomDockWidgetArea),
                                  ("Units", self.units, area.LeftDockWidgetArea),
                                  ("Log", self.log, area.BottomDockWidgetArea),
                                  ("Drift map", self.drift_map, area.RightDockWidgetArea),
                                  ("Probe", self.probe, area.LeftDockWidgetArea)):
            dock = QDockWidget(name, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(view)
            self.addDockWidget(where, dock)
            self.docks[name] = dock
        self.splitDockWidget(self.docks["Raster"], self.docks["Curves"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.docks["Curves"], self.docks["Log"])
        self.docks["Curves"].raise_()
        self.tabifyDockWidget(self.docks["Training"], self.docks["Probe"])
        self.docks["Training"].raise_()
        self._build_status_bar()
        overrides, problem = load_overrides()
        self.actions = ActionRegistry(self, overrides)
        self._build_actions()
        self.curation_docks = install_curation(self)
        self.motifs = install_motifs(self)
        self.tabifyDockWidget(self.docks["Filters"], self.docks["Drift map"])
        self.docks["Filters"].raise_()
        self.training.add_action_buttons([self.actions[n] for n in ("train", "pause", "resume", "stop")])
        self._default_state = self.saveState()
        self._proportions_pending = True  # the default layout's sizes are applied once the window is shown
        self._restore_settings()
        self._apply_dask_scheduler()
        c.errorOccurred.connect(self.show_error)
        c.trainingStateChanged.connect(self._on_training_state)
        c.snapshotReceived.connect(self._on_snapshot)
        c.sortProgress.connect(self._on_sort_progress)
        c.deviceChanged.connect(lambda text: self.device_label.setText(text))
        c.recordingChanged.connect(self._on_recording)
        c.shutdownFinished.connect(self.close)
        c.notice.connect(lambda text: self.statusBar().showMessage(text, NOTICE_MS))
        c.jobs.progressed.connect(self._on_job_progress)
        if problem:
            c.report_error(problem)  # the shortcuts file could not be read
        self._on_training_state(c.training_state)

    # -- construction -----------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_label = QLabel("idle")
        self.rate_label = QLabel("")
        self.device_label = QLabel("")
        self.progress = QProgressBar(maximum=100)
        self.progress.setFixedWidth(180)
        self.progress.setFormat("sorting %p%")
        self.progress.hide()
        self.job_progress = QProgressBar(maximum=100)  # export, quality metrics, the demo's simulation ...
        self.job_progress.setFixedWidth(300)
        self.job_progress.hide()
        self._job_bar_timer = QTimer(self, singleShot=True, interval=JOB_BAR_DELAY_MS)
        self._job_bar_timer.timeout.connect(self.job_progress.show)
        for widget in (self.state_label, self.rate_label):
            bar.addWidget(widget)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.device_label)

    def _build_actions(self) -> None:
        add, c, t = self.actions.add, self.controller, self.traces
        add("open", "&File", "&Open recording...", QKeySequence.StandardKey.Open, self.open_recording_dialog)
        add("open_demo", "&File", "Open &demo recording", "Ctrl+D", self.open_demo)
        add("open_session", "&File", "Open &session...", "Ctrl+Shift+O", self.open_session_dialog)
        add("save_session", "&File", "&Save session", QKeySequence.StandardKey.Save, self.save_session)
        add("save_session_as", "&File", "Save session &as...", QKeySequence.StandardKey.SaveAs,
            self.save_session_dialog)
        add("export_phy", "&File", "Export to &Phy...", "Ctrl+E", lambda: export_phy_dialog(self, c))
        add("export_nwb", "&File", "Export to &NWB...", "Ctrl+Shift+E", lambda: export_nwb_dialog(self, c))
        self.recent_menu = self.actions.menu("&File").addMenu("Recent files")
        add("quit", "&File", "&Quit", QKeySequence.StandardKey.Quit, self.close)
        add("train", "&Training", "&Train", "F5", lambda: c.start_training(self.training.config()))
        add("pause", "&Training", "&Pause", "F6", c.pause_training)
        add("resume", "&Training", "&Resume", "F7", c.resume_training)
        add("stop", "&Training", "&Stop", "Shift+F5", c.stop_training)
        add("lambda_up", "&Training", "Increase λ", "]", lambda: self._scale_lambda(LAMBDA_STEP))
        add("lambda_down", "&Training", "Decrease λ", "[", lambda: self._scale_lambda(1 / LAMBDA_STEP))
        add("resort", "&Training", "Re-sort recording", "Ctrl+R", c.sort_all)
        demo_trains = add("demo_trains", "&Training", "Train the demo as it opens", "", self._set_demo_trains,
                          checkable=True)
        demo_trains.setChecked(self.demo_trains_on_open())
        add("dask_scheduler", "&Training", "Dask scheduler...", "", self.ask_dask_scheduler)
        add("scroll_left", "T&races", "Scroll left", "Left", lambda: t.scroll(-0.25))
        add("scroll_right", "T&races", "Scroll right", "Right", lambda: t.scroll(0.25))
        add("page_left", "T&races", "Page left", "PgUp", lambda: t.scroll(-1.0))
        add("page_right", "T&races", "Page right", "PgDown", lambda: t.scroll(1.0))
        add("zoom_in", "T&races", "Zoom in (time)", "=", lambda: t.zoom(0.5))
        add("zoom_out", "T&races", "Zoom out (time)", "-", lambda: t.zoom(2.0))
        add("gain_up", "T&races", "Increase gain", "Up", lambda: t.change_gain(1.5))
        add("gain_down", "T&races", "Decrease gain", "Down", lambda: t.change_gain(1 / 1.5))
        add("overlay", "T&races", "Show reconstruction and residual", "O", t.set_overlay, checkable=True)
        for name, dock in self.docks.items():
            self.actions.add_dock_toggle(name, dock)
        add("reset_layout", "&View", "Reset layout", "Ctrl+Shift+R", self.reset_layout)
        add("hide_noise", "&View", "Hide units labelled noise", "Ctrl+H", c.set_hide_noise, checkable=True)
        add("shortcuts", "&Help", "Keyboard shortcuts", "F1", self.show_shortcuts)

    # -- files --------------------------------------------------------------------
    def open_path(self, path: str) -> bool:
        """Open a recording or a session by its file name, asking raw-binary parameters when needed."""
        if is_session_file(path):
            ok = self.controller.load_session(path)
            if ok:
                self.training.show_config(self.controller.train_config)
        elif needs_layout(path):
            dialog = RawBinaryDialog(path, self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            ok = self.controller.open_recording(path, **dialog.arguments())
        else:
            ok = self.controller.open_recording(path)
        if ok:
            self._remember_recent(path)
            self._find_recordings_folder()
        return ok

    def open_recording_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", "", file_dialog_filter())
        if path:
            self.open_path(path)

    def open_demo(self) -> None:
        """Simulate the demo (once) on the jobs thread, open it, and train it unless the setting says not to."""
        from app.demo import demo_path

        def opened(path) -> None:
            if self.controller.open_recording(path) and self.demo_trains_on_open():
                self.controller.start_training(self.training.config())

        self.controller.jobs.submit("Simulating the demo recording", demo_path, opened, kind="demo")

    def demo_trains_on_open(self) -> bool:
        return self.settings.value("demo_trains_on_open", WINDOW_DEFAULTS.demo_trains_on_open, type=bool)

    def _set_demo_trains(self, on: bool) -> None:
        self.settings.setValue("demo_trains_on_open", bool(on))

    def dask_scheduler(self) -> str:
        return str(self.settings.value("dask_scheduler", WINDOW_DEFAULTS.dask_scheduler) or "").strip()

    def set_dask_scheduler(self, address: str) -> None:
        """Where the whole-recording sort runs: a Dask scheduler's address, or "" for this window."""
        self.settings.setValue("dask_scheduler", address.strip())
        self._apply_dask_scheduler()

    def _apply_dask_scheduler(self) -> None:
        self.controller.sort_worker.source_of = partial(dask_source, self.controller)
        self.controller.sort_worker.scheduler = self.dask_scheduler()  # a plain store, read by the sort thread

    def ask_dask_scheduler(self) -> None:
        address, ok = QInputDialog.getText(self, "Dask scheduler", "Sort the whole recording on the Dask scheduler at "
                                           "(tcp://host:8786; empty: in this window):", text=self.dask_scheduler())
        if ok:
            self.set_dask_scheduler(address)

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", SESSION_FILTER)
        if path:
            self.open_path(path)

    def save_session(self) -> None:
        """Save to the session file in use (folding the curation journal in), else ask where."""
        path = self.controller.curation.session_path
        if path:
            self.controller.save_session(path)
        else:
            self.save_session_dialog()

    def save_session_dialog(self) -> None:
        rec = self.controller.recording_path
        suggestion = default_session_path(rec, self.controller.recordings_folder) if rec else "session.session.h5"
        path, _ = QFileDialog.getSaveFileName(self, "Save session", suggestion, SESSION_FILTER)
        if path:
            self.controller.save_session(path)

    def _recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        recent = [path] + [p for p in self._recent_files() if p != path]
        self.settings.setValue("recent_files", recent[:WINDOW_DEFAULTS.recent_files_max])
        self._fill_recent_menu()

    def _find_recordings_folder(self) -> None:
        """The folder of the last recording the user opened (not the demo): the demo's session goes there."""
        folders = [os.path.dirname(p) for p in self._recent_files() if not is_demo(p)]
        self.controller.recordings_folder = next((f for f in folders if os.path.isdir(f)), None)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent_files():
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent_files()))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            self.open_path(paths[0])

    # -- reactions -------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.last_error = text
        self.statusBar().showMessage(f"Error: {text}", 10000)
        if self._error_box is None:
            self._error_box = QMessageBox(QMessageBox.Icon.Warning, "sparsesort", "", parent=self)
            self._error_box.setModal(False)
        self._error_box.setText(text)
        self._error_box.show()  # not exec(): the window keeps working behind it

    def _on_training_state(self, state: str) -> None:
        self.state_label.setText(state)
        self.actions["train"].setEnabled(state == IDLE and self.controller.recording is not None)
        self.actions["pause"].setEnabled(state == TRAINING)
        self.actions["resume"].setEnabled(state == PAUSED)
        self.actions["stop"].setEnabled(state in (TRAINING, PAUSED))

    def _on_recording(self, rec) -> None:
        name = os.path.basename(self.controller.recording_path or "in-memory recording")
        self.setWindowTitle(f"sparsesort — {name}")
        self.statusBar().showMessage(rec.describe(), 5000)
        self._on_training_state(self.controller.training_state)

    def _on_snapshot(self, snap) -> None:
        rate = snap.step / snap.elapsed if snap.elapsed > 0 else 0.0
        total = snap.max_steps
        self.rate_label.setText(f"step {snap.step}/{total} · {rate:.2f} steps/s · loss {snap.loss:.3g} · "
                                f"SNR {snap.snr_db:.2f} dB")

    def _on_job_progress(self, name: str, percent: int) -> None:
        """Shown once a job has run for JOB_BAR_DELAY_MS: quick ones (a matrix, a few features) never flash it."""
        self.job_progress.setFormat(f"{name} %p%" if percent else f"{name} ...")
        self.job_progress.setMaximum(100 if percent else 0)  # busy until the job gives a fraction
        self.job_progress.setValue(percent)
        if percent >= 100:
            self._job_bar_timer.stop()
            self.job_progress.hide()
        elif not self.job_progress.isVisible() and not self._job_bar_timer.isActive():
            self._job_bar_timer.start()

    def _on_sort_progress(self, percent: int) -> None:
        self.progress.setValue(percent)
        self.progress.setVisible(percent < 100)

    def _scale_lambda(self, factor: float) -> None:
        if self.controller.lam is not None:
            self.controller.set_lambda(self.controller.lam * factor)

    def show_shortcuts(self) -> None:
        HelpPage(self.actions, self).show()

    # -- layout and settings ------------------------------------------------------------
    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in (*self.docks.values(), *self.curation_docks.values(), self.motifs.dock):
            dock.show()
        for name in ("Training", "Curves", "Filters"):
            self.docks[name].raise_()
        apply_default_proportions(self)

    def _default_size(self) -> tuple[int, int]:
        screen = self.screen() or QApplication.primaryScreen()
        return default_window_size(WINDOW_DEFAULTS.window_size, screen.availableGeometry() if screen else None)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._proportions_pending:
            self._proportions_pending = False
            QTimer.singleShot(0, lambda: apply_default_proportions(self))  # once the docks have their first sizes

    def _restore_settings(self) -> None:
        geometry, state = self.settings.value("geometry"), self.settings.value("window_state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(*self._default_size())
        if state is not None:
            self.restoreState(state)
            self._proportions_pending = None  # the user's own layout: leave its sizes alone
        self._fill_recent_menu()
        self._find_recordings_folder()

    def closeEvent(self, event) -> None:
        if not self.controller.finished:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState())
            self.controller.shutdown()  # the window closes itself on shutdownFinished
            event.ignore()
            return
        event.accept()
