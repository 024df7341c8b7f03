"""File > Export: the current sorting, with its curation, as a Phy folder or an NWB file."""
from __future__ import annotations

import os

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication, QFileDialog

from engine.io.nwb import export_nwb
from engine.io.phy import export_phy


def _export(controller, write, target: str, what: str) -> bool:
    session = controller.build_session()
    if session is None:
        return False
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        written = write(session, target)
    except (OSError, ValueError) as exc:
        controller.report_error(f"{target}: the {what} export failed ({exc})")
        return False
    finally:
        QApplication.restoreOverrideCursor()
    controller.message.emit(f"Exported to {what}: {written}")
    return True


def export_to_phy(controller, folder: str) -> bool:
    return _export(controller, export_phy, folder, "Phy")


def export_to_nwb(controller, path: str) -> bool:
    return _export(controller, export_nwb, path, "NWB")


def _suggestion(controller, suffix: str) -> str:
    return os.path.splitext(controller.recording_path or "sorting")[0] + suffix


def export_phy_dialog(parent, controller) -> None:
    folder = QFileDialog.getExistingDirectory(parent, "Export to Phy: choose or create a folder",
                                              os.path.dirname(_suggestion(controller, "")))
    if folder:
        export_to_phy(controller, folder)


def export_nwb_dialog(parent, controller) -> None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export to NWB", _suggestion(controller, ".nwb"),
                                          "NWB files (*.nwb)")
    if path:
        export_to_nwb(controller, path)
