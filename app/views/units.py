"""Units table: one row per cluster (id, spikes, rate, amplitude, label, SNR first, then the other
quality metrics and the note); selecting rows selects units; noise rows are greyed or hidden.

A model over the curation's arrays, not a widget per cell: the counts and mean amplitudes of every cluster
are two ``bincount``s of the spikes, and Qt asks only for the rows on screen (300 clusters of 5.4 M spikes
cost 4 s as a QTableWidget with a pass over the spikes per row). Double-click a label or a note to edit it.
"""
from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import QAbstractItemView, QComboBox, QStyledItemDelegate, QTableView, QVBoxLayout, QWidget

from app.colors import NOISE_COLOR
from engine.curation.model import DELETED_LABEL, LABELS

COLUMNS = ["unit", "spikes", "rate (Hz)", "amp.", "label", "SNR", "ISI viol.", "presence", "amp. cutoff",
           "isolation", "note"]
LABEL_COLUMN, NOTE_COLUMN = COLUMNS.index("label"), COLUMNS.index("note")
TIPS = {"amp.": "mean amplitude of the unit's spikes (the sparse code)", "ISI viol.": "ISI-violation ratio",
        "amp. cutoff": "estimated fraction of spikes lost below threshold",
        "isolation": "nearest-neighbour isolation against the most similar cluster"}
RESIZE_ROWS = 50  # column widths are measured on this many rows, not on all of them
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _number(value: float, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


class UnitsModel(QAbstractTableModel):
    """The rows' texts, computed once per change of the curation or its metrics."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.ids: list[int] = []
        self.rows: list[list[str]] = []
        self.labels: list[str] = []
        self.colors: list[QColor] = []

    def rebuild(self) -> bool:
        """The rows from the curation; whether the clusters (not only their values) changed."""
        c, curation = self.controller, self.controller.curation
        ids = curation.cluster_ids() if c.recording is not None and c.spikes is not None else []
        rows, labels = [], []
        table = curation.cluster_table() if ids else None
        if table is None:
            ids = []
        else:
            counts, amplitude = table.counts, table.mean_amplitudes
            for cluster in ids:
                q, n = curation.quality.get(cluster), int(counts[cluster])
                labels.append(curation.curation.label_of(cluster))
                rows.append([str(cluster), str(n), _number(n / c.sorted_seconds if c.sorted_seconds else None),
                             _number(float(amplitude[cluster]), 1), labels[-1],
                             _number(q.snr if q else None, 1), _number(q.isi_violation_ratio if q else None),
                             _number(q.presence_ratio if q else None), _number(q.amplitude_cutoff if q else None),
                             _number(q.isolation if q else None), curation.curation.note_of(cluster)])
        changed = ids != self.ids
        if changed:
            self.beginResetModel()
        self.ids, self.rows, self.labels = ids, rows, labels
        self.colors = [curation.color(k) for k in ids]
        if changed:
            self.endResetModel()
        elif ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(ids) - 1, len(COLUMNS) - 1))
        return changed

    # -- QAbstractTableModel -------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return TIPS.get(COLUMNS[section])
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row, column = index.row(), index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self.rows[row][column]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == 0:
                return QBrush(self.colors[row])
            return QBrush(QColor(NOISE_COLOR)) if self.labels[row] == DELETED_LABEL else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column in (LABEL_COLUMN, NOTE_COLUMN) else _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:  # the note is the last column, often scrolled away
            return self.rows[row][NOTE_COLUMN] or None
        return None

    def flags(self, index):
        flags = super().flags(index)
        return flags | Qt.ItemFlag.ItemIsEditable if index.column() in (LABEL_COLUMN, NOTE_COLUMN) else flags

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or value == self.rows[index.row()][index.column()]:
            return False
        cluster, curation = self.ids[index.row()], self.controller.curation
        if index.column() == LABEL_COLUMN:
            return curation.label(str(value), [cluster])
        if index.column() == NOTE_COLUMN:
            return curation.note(cluster, str(value))
        return False


class LabelDelegate(QStyledItemDelegate):
    """The label column is edited with a box of the labels."""

    def createEditor(self, parent, option, index):
        box = QComboBox(parent)
        box.addItems(LABELS)
        box.activated.connect(lambda _: self.commitData.emit(box))
        return box

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentText(index.data())
        editor.showPopup()

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentText())


class UnitsView(QWidget):
    """One row per cluster of the curation, with its quality metrics, label and note (double-click to edit)."""

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.model = UnitsModel(controller, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(LABEL_COLUMN, LabelDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)  # the note; the others fit their contents after each refresh
        header.setMinimumSectionSize(30)
        header.setResizeContentsPrecision(RESIZE_ROWS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self._updating = False
        self._widths: tuple = ()  # the longest text of each column when they were last measured
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_table_selection())
        controller.curation.changed.connect(self.refresh)
        controller.curation.measured.connect(self.refresh)
        controller.selectionChanged.connect(self._show_selection)

    @property
    def ids(self) -> list[int]:
        """The cluster id of each row."""
        return self.model.ids

    def refresh(self) -> None:
        c = self.controller
        self._updating = True
        changed = self.model.rebuild()
        for row, label in enumerate(self.model.labels):
            self.table.setRowHidden(row, c.hide_noise and label == DELETED_LABEL)
        widths = tuple(max((len(row[i]) for row in self.model.rows), default=0) for i in range(len(COLUMNS)))
        if changed or widths != self._widths:  # measuring the columns is most of a re-sort's refresh
            self.table.resizeColumnsToContents()
            self._widths = widths
        self._updating = False
        self._show_selection(c.selected_units)

    def labels(self) -> list[str]:
        return list(self.model.labels)

    def count_column(self) -> list[int]:
        return [int(row[1]) for row in self.model.rows]

    def shown_rows(self) -> list[int]:
        return [cluster for row, cluster in enumerate(self.ids) if not self.table.isRowHidden(row)]

    def _on_table_selection(self) -> None:
        if not self._updating:
            rows = self.table.selectionModel().selectedRows()
            self.controller.set_selected_units({self.ids[index.row()] for index in rows})

    def _show_selection(self, units) -> None:
        self._updating = True
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        rows = {cluster: row for row, cluster in enumerate(self.ids)}
        for unit in units:
            if unit in rows:
                selection.select(self.model.index(rows[unit], 0), flags)
        self._updating = False
