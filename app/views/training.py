"""Training controls: settings, Train/Pause/Resume/Stop, the lambda slider and its auto (EM) switch."""
from __future__ import annotations

import math

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSlider,
                             QSpinBox, QToolButton, QVBoxLayout, QWidget)

from engine.training.trainer import TrainConfig

LAMBDA_RANGE = (1e-2, 1e4)
SLIDER_TICKS = 600
LAMBDA_DELAY_MS = 60  # one re-sort per pause of the slider, not one per pixel dragged


def lambda_to_tick(value: float) -> int:
    lo, hi = (math.log10(v) for v in LAMBDA_RANGE)
    return round((math.log10(max(value, LAMBDA_RANGE[0])) - lo) / (hi - lo) * SLIDER_TICKS)


def tick_to_lambda(tick: int) -> float:
    lo, hi = (math.log10(v) for v in LAMBDA_RANGE)
    return 10 ** (lo + (hi - lo) * tick / SLIDER_TICKS)


class TrainingPanel(QWidget):
    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        defaults = TrainConfig()
        self.units = QSpinBox(minimum=0, maximum=512, specialValueText="auto")
        self.filter_ms = QDoubleSpinBox(minimum=0.5, maximum=20.0, singleStep=0.5, value=defaults.filter_ms,
                                        suffix=" ms")
        self.unrolled = QSpinBox(minimum=1, maximum=1000, value=defaults.n_steps)
        self.update_rule = QComboBox()
        self.update_rule.addItems(["lstsq", "adam"])
        self.learning_rate = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1.0, singleStep=1e-3,
                                            value=defaults.learning_rate)
        self.batch = QSpinBox(minimum=1, maximum=4096, value=defaults.batch_size)
        self.max_steps = QSpinBox(minimum=0, maximum=100000, value=defaults.max_steps or 0, specialValueText="auto")
        self.max_steps.setToolTip("auto: one pass over the training data (10 to 30 steps); training also stops "
                                  "once the filters settle")
        self.tolerance = QDoubleSpinBox(decimals=3, minimum=0.0, maximum=1.0, singleStep=0.01,
                                        value=defaults.tolerance, specialValueText="never")
        self.tolerance.setToolTip("Stop once no filter moves by more than this (unit-norm distance) for "
                                  "three steps; never: train all the steps")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        form = QFormLayout()
        for label, widget in (("Units", self.units), ("Filter length", self.filter_ms),
                              ("Unrolled steps", self.unrolled), ("Filter update", self.update_rule),
                              ("Learning rate", self.learning_rate), ("Batch", self.batch),
                              ("Training steps", self.max_steps), ("Stop when settled", self.tolerance),
                              ("Device", self.device)):
            form.addRow(label, widget)
        self.buttons = QHBoxLayout()
        self.lambda_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=SLIDER_TICKS)
        self.lambda_box = QDoubleSpinBox(decimals=3, minimum=LAMBDA_RANGE[0], maximum=LAMBDA_RANGE[1])
        self.lambda_box.setKeyboardTracking(False)
        self.lambda_auto = QCheckBox("auto")
        self.lambda_auto.setToolTip("Learn λ by EM while training (Gamma prior around the noise-based λ); "
                                    "the box shows the value it chooses. Setting λ by hand turns it off.")
        lam_row = QHBoxLayout()
        lam_row.addWidget(QLabel("λ"))
        lam_row.addWidget(self.lambda_slider, 1)
        lam_row.addWidget(self.lambda_box)
        lam_row.addWidget(self.lambda_auto)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self.buttons)
        layout.addLayout(lam_row)
        layout.addStretch(1)
        self._lambda_timer = QTimer(self, singleShot=True, interval=LAMBDA_DELAY_MS)
        self._lambda_timer.timeout.connect(self._send_lambda)
        self.lambda_slider.valueChanged.connect(self._on_slider)
        self.lambda_box.valueChanged.connect(self._on_box)
        controller.lambdaChanged.connect(self.show_lambda)
        self.lambda_auto.toggled.connect(controller.set_lambda_auto)
        controller.lambdaAutoChanged.connect(self.show_lambda_auto)
        self._set_lambda_enabled(False)
        controller.filtersChanged.connect(lambda _: self._set_lambda_enabled(True))
        controller.recordingChanged.connect(lambda _: self._set_lambda_enabled(False))

    def add_action_buttons(self, actions) -> None:
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.buttons.addWidget(button)

    def config(self) -> TrainConfig:
        return TrainConfig(n_units=self.units.value() or None, filter_ms=self.filter_ms.value(),
                           n_steps=self.unrolled.value(), update=self.update_rule.currentText(),
                           learning_rate=self.learning_rate.value(), batch_size=self.batch.value(),
                           max_steps=self.max_steps.value() or None, tolerance=self.tolerance.value(),
                           device=self.device.currentText())

    def show_config(self, config: TrainConfig) -> None:
        self.units.setValue(config.n_units or 0)
        self.filter_ms.setValue(config.filter_ms)
        self.unrolled.setValue(config.n_steps)
        self.update_rule.setCurrentText(config.update)
        self.learning_rate.setValue(config.learning_rate)
        self.batch.setValue(config.batch_size)
        self.max_steps.setValue(config.max_steps or 0)
        self.tolerance.setValue(config.tolerance)
        self.device.setCurrentText(config.device)

    def _set_lambda_enabled(self, enabled: bool) -> None:
        self.lambda_slider.setEnabled(enabled)
        self.lambda_box.setEnabled(enabled)

    def show_lambda(self, value: float) -> None:
        if self._lambda_timer.isActive():
            return  # the user's edit, about to be sent, wins over a training snapshot's value
        for widget, shown in ((self.lambda_slider, lambda_to_tick(value)), (self.lambda_box, value)):
            widget.blockSignals(True)
            widget.setValue(shown)
            widget.blockSignals(False)

    def show_lambda_auto(self, enabled: bool) -> None:
        self.lambda_auto.blockSignals(True)
        self.lambda_auto.setChecked(enabled)
        self.lambda_auto.blockSignals(False)

    def _on_slider(self, tick: int) -> None:
        self.lambda_box.blockSignals(True)
        self.lambda_box.setValue(tick_to_lambda(tick))
        self.lambda_box.blockSignals(False)
        self._lambda_timer.start()

    def _on_box(self, value: float) -> None:
        self.lambda_slider.blockSignals(True)
        self.lambda_slider.setValue(lambda_to_tick(value))
        self.lambda_slider.blockSignals(False)
        self._lambda_timer.start()

    def _send_lambda(self) -> None:
        self.controller.set_lambda(self.lambda_box.value())
