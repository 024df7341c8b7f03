"""Units table: per-unit numbers and a label; selecting rows selects units everywhere."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush
from PyQt6.QtWidgets import QAbstractItemView, QComboBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.colors import unit_color
from app.controller import UNIT_LABELS
from app.unit_stats import unit_stats

COLUMNS = ["unit", "spikes", "rate (Hz)", "mean amp.", "SNR", "ISI viol. (%)", "label"]


class UnitsView(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._updating = False
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        for signal in (controller.spikesChanged, controller.filtersChanged):
            signal.connect(lambda _: self.refresh())
        controller.labelsChanged.connect(self.refresh)
        controller.recordingChanged.connect(lambda _: self.refresh())
        controller.selectionChanged.connect(self._show_selection)

    def refresh(self) -> None:
        c = self.controller
        if c.filters is None or c.recording is None:
            self.table.setRowCount(0)
            return
        spikes = c.spikes if c.spikes is not None and c.spikes.n_units == len(c.filters) else None
        stats = unit_stats(spikes, c.filters, c.recording.duration, c.noise_sigma)
        self._updating = True
        if self.table.rowCount() != len(stats):
            self.table.setRowCount(len(stats))
            for row in range(len(stats)):
                self.table.setCellWidget(row, len(COLUMNS) - 1, self._label_box(row))
        for row, s in enumerate(stats):
            values = [str(s.unit), str(s.count), f"{s.rate_hz:.2f}", f"{s.mean_amplitude:.1f}", f"{s.snr:.1f}",
                      f"{100 * s.isi_violations:.2f}"]
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if col == 0:
                    item.setForeground(QBrush(unit_color(s.unit)))
                self.table.setItem(row, col, item)
            box = self.table.cellWidget(row, len(COLUMNS) - 1)
            box.blockSignals(True)
            box.setCurrentText(c.labels.get(row, UNIT_LABELS[0]))
            box.blockSignals(False)
        self._updating = False
        self._show_selection(c.selected_units)

    def _label_box(self, unit: int) -> QComboBox:
        box = QComboBox()
        box.addItems(UNIT_LABELS)
        box.currentTextChanged.connect(lambda text, u=unit: self.controller.set_label(u, text))
        return box

    def count_column(self) -> list[int]:
        return [int(self.table.item(r, 1).text()) for r in range(self.table.rowCount()) if self.table.item(r, 1)]

    def _on_table_selection(self) -> None:
        if not self._updating:
            self.controller.set_selected_units({index.row() for index in self.table.selectionModel().selectedRows()})

    def _show_selection(self, units) -> None:
        self._updating = True
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for unit in units:
            if unit < self.table.rowCount():
                selection.select(self.table.model().index(unit, 0), flags)
        self._updating = False
