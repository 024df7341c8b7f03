"""Units table: one row per cluster (id, spikes, rate, amplitude, label, SNR first, then the other
quality metrics and the note); selecting rows selects units; noise rows are greyed or hidden."""
from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QComboBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.colors import NOISE_COLOR
from engine.curation.model import DELETED_LABEL, LABELS

COLUMNS = ["unit", "spikes", "rate (Hz)", "amp.", "label", "SNR", "ISI viol.", "presence", "amp. cutoff",
           "isolation", "note"]
LABEL_COLUMN, NOTE_COLUMN = COLUMNS.index("label"), COLUMNS.index("note")
TIPS = {"amp.": "mean amplitude of the unit's spikes (the sparse code)", "ISI viol.": "ISI-violation ratio",
        "amp. cutoff": "estimated fraction of spikes lost below threshold",
        "isolation": "nearest-neighbour isolation against the most similar cluster"}


def _number(value: float, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


class UnitsView(QWidget):
    """One row per cluster of the curation, with its quality metrics, label and note (double-click to edit)."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        for col, name in enumerate(COLUMNS):
            if name in TIPS:
                self.table.horizontalHeaderItem(col).setToolTip(TIPS[name])
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)  # the note; the others fit their contents after each refresh
        header.setMinimumSectionSize(30)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSortingEnabled(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._updating = False
        self.ids: list[int] = []  # the cluster id of each row
        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        controller.curation.changed.connect(self.refresh)
        controller.curation.measured.connect(self.refresh)
        controller.selectionChanged.connect(self._show_selection)

    def refresh(self) -> None:
        c, curation = self.controller, self.controller.curation
        self._updating = True
        self.ids = curation.cluster_ids() if c.recording is not None and c.spikes is not None else []
        if self.table.rowCount() != len(self.ids):
            self.table.setRowCount(len(self.ids))
        counts = curation.curation.counts() if self.ids else {}
        for row, cluster in enumerate(self.ids):
            spikes = curation.spikes_of(cluster)
            q = curation.quality.get(cluster)
            label = curation.curation.label_of(cluster)
            amplitude = float(c.spikes.amplitudes[spikes].mean()) if len(spikes) else 0.0
            values = {"unit": str(cluster), "spikes": str(counts[cluster]),
                      "rate (Hz)": _number(counts[cluster] / c.sorted_seconds if c.sorted_seconds else None),
                      "amp.": _number(amplitude, 1),
                      "SNR": _number(q.snr if q else None, 1),
                      "ISI viol.": _number(q.isi_violation_ratio if q else None),
                      "presence": _number(q.presence_ratio if q else None),
                      "amp. cutoff": _number(q.amplitude_cutoff if q else None),
                      "isolation": _number(q.isolation if q else None)}
            grey = QBrush(QColor(NOISE_COLOR)) if label == DELETED_LABEL else None
            for name, text in values.items():
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if name == "unit":
                    item.setForeground(QBrush(curation.color(cluster)))
                elif grey is not None:
                    item.setForeground(grey)
                self.table.setItem(row, COLUMNS.index(name), item)
            box = self.table.cellWidget(row, LABEL_COLUMN) or self._label_box(row)
            box.blockSignals(True)
            box.setCurrentText(label)
            box.blockSignals(False)
            self.table.setItem(row, NOTE_COLUMN, QTableWidgetItem(curation.curation.note_of(cluster)))
            self.table.setRowHidden(row, c.hide_noise and label == DELETED_LABEL)
        self.table.resizeColumnsToContents()  # once, not per cell (ResizeToContents re-measured every setItem)
        self._updating = False
        self._show_selection(c.selected_units)

    def _label_box(self, row: int) -> QComboBox:
        """A row's label box, kept across refreshes (a box must not be replaced while it emits)."""
        box = QComboBox()
        box.addItems(LABELS)
        box.currentTextChanged.connect(lambda text, r=row: self.controller.curation.label(text, [self.ids[r]]))
        self.table.setCellWidget(row, LABEL_COLUMN, box)
        return box

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if not self._updating and item.column() == NOTE_COLUMN:
            self.controller.curation.note(self.ids[item.row()], item.text())

    def labels(self) -> list[str]:
        return [self.table.cellWidget(r, LABEL_COLUMN).currentText() for r in range(self.table.rowCount())]

    def count_column(self) -> list[int]:
        return [int(self.table.item(r, 1).text()) for r in range(self.table.rowCount()) if self.table.item(r, 1)]

    def shown_rows(self) -> list[int]:
        return [self.ids[r] for r in range(self.table.rowCount()) if not self.table.isRowHidden(r)]

    def _on_table_selection(self) -> None:
        if not self._updating:
            rows = self.table.selectionModel().selectedRows()
            self.controller.set_selected_units({self.ids[index.row()] for index in rows})

    def _show_selection(self, units) -> None:
        self._updating = True
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for unit in units:
            if unit in self.ids:
                selection.select(self.table.model().index(self.ids.index(unit), 0), flags)
        self._updating = False
