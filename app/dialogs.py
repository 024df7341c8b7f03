"""Dialogs: the raw binary parameters."""
from __future__ import annotations

import os

from PyQt6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox,
                             QVBoxLayout)

RAW_DTYPES = ["int16", "uint16", "int32", "float32", "float64"]


class RawBinaryDialog(QDialog):
    """Asks what a headerless binary file cannot say: rate, channels, dtype, offset, gain."""

    def __init__(self, path: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Raw binary recording")
        self.sampling_rate = QDoubleSpinBox(decimals=1, minimum=1.0, maximum=1e6, value=30000.0, suffix=" Hz")
        self.n_channels = QSpinBox(minimum=1, maximum=4096, value=4)
        self.dtype = QComboBox()
        self.dtype.addItems(RAW_DTYPES)
        self.offset = QSpinBox(minimum=0, maximum=2**31 - 1, suffix=" bytes")
        self.gain = QDoubleSpinBox(decimals=6, minimum=1e-9, maximum=1e6, value=1.0, suffix=" µV/unit")
        form = QFormLayout()
        form.addRow(QLabel(os.path.basename(path)))
        for label, widget in (("Sampling rate", self.sampling_rate), ("Channels", self.n_channels),
                              ("Sample type", self.dtype), ("Header offset", self.offset), ("Gain", self.gain)):
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def arguments(self) -> dict:
        return {"sampling_rate": self.sampling_rate.value(), "n_channels": self.n_channels.value(),
                "dtype": self.dtype.currentText(), "offset": self.offset.value(), "gain": self.gain.value()}
