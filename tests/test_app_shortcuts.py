"""Keys come from one registry: dock keys handed out without clashes, a settings file overrides any
key, and the F1 help page is generated from the registry."""
import json

from PyQt6.QtGui import QKeySequence
from PyQt6.QtWidgets import QApplication
from qt_windows import close_window, make_window

from app.help_page import HelpPage


def test_every_dock_has_its_own_key_and_no_two_actions_share_one(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSESORT_SHORTCUTS", str(tmp_path / "none.json"))
    win = make_window(qtbot, tmp_path)
    try:
        keys = {name: e.shortcut for name, e in win.actions.entries.items() if name.startswith("view_")}
        assert len(keys) == len(win.docks) + len(win.curation_docks) + 1 == len(set(keys.values()))
        assert all(keys.values()) and win.actions.clashes() == []
        assert keys["view_traces"] == "Alt+1" and keys["view_motifs"] != "Alt+9"
        win.docks["Log"].hide()
        win.actions["view_log"].trigger()
        assert win.docks["Log"].isVisible()
    finally:
        close_window(qtbot, win)


def test_a_settings_file_overrides_keys_and_f1_shows_the_generated_page(qtbot, tmp_path, monkeypatch):
    overrides = tmp_path / "shortcuts.json"
    overrides.write_text(json.dumps({"merge": "M", "view_probe": "Alt+0", "undo": ""}))
    monkeypatch.setenv("SPARSESORT_SHORTCUTS", str(overrides))
    win = make_window(qtbot, tmp_path)
    try:
        entries = win.actions.entries
        assert entries["merge"].shortcut == "M" and entries["merge"].overridden
        assert entries["view_probe"].shortcut == "Alt+0" and entries["undo"].shortcut == ""
        assert win.actions["merge"].shortcut() == QKeySequence("M")  # the key Qt listens for
        assert win.actions["undo"].shortcut().isEmpty()
        win.actions["shortcuts"].trigger()  # F1
        assert win.actions["shortcuts"].shortcut() == QKeySequence("F1")
        pages = [w for w in QApplication.topLevelWidgets() if isinstance(w, HelpPage) and w.isVisible()]
        assert pages
        text = pages[0].browser.toPlainText()
        for entry in entries.values():
            assert entry.text in text and entry.name in text
        assert str(overrides) in text
    finally:
        close_window(qtbot, win)


def test_a_broken_settings_file_is_reported_and_the_defaults_kept(qtbot, tmp_path, monkeypatch):
    broken = tmp_path / "shortcuts.json"
    broken.write_text("{not json")
    monkeypatch.setenv("SPARSESORT_SHORTCUTS", str(broken))
    win = make_window(qtbot, tmp_path)
    try:
        assert win.last_error and "shortcuts.json" in win.last_error
        assert win.actions.entries["merge"].shortcut == "G"
    finally:
        close_window(qtbot, win)
