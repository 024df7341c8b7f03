"""File > Export: the current sorting, with its curation, as a Phy folder or an NWB file, written on the
jobs thread (progress in the status bar; the window keeps working)."""
from __future__ import annotations

import os

from PyQt6.QtWidgets import QFileDialog

from engine.io.nwb import export_nwb
from engine.io.phy import export_phy


def _export(controller, write, target: str, what: str) -> bool:
    """Start the export (False, with a message, when there is nothing to export); it reports when done."""
    session = controller.build_session()  # a snapshot: curation after this point is not in the export
    if session is None:
        return False

    def work(progress):
        try:
            return write(session, target)
        except (OSError, ValueError) as exc:
            return exc

    def done(written) -> None:
        if isinstance(written, Exception):
            controller.report_error(f"{target}: the {what} export failed ({written})")
        else:
            controller.notice.emit(f"Exported to {what}: {written}")

    controller.jobs.submit(f"Exporting to {what}", work, done, kind=f"export {target}")
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
