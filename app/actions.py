"""The action registry: every command gets a menu entry, a key and a line in the help page (F1).

Keys come from one place. An action's default key is given where it is added; the docks' keys are
handed out by the registry in the order the docks are added (Alt+1..9, then Ctrl+Alt+1..9, then
Ctrl+Shift+Alt+1..9), so no two docks ever share one. A JSON file of ``{"action name": "key"}``
(``shortcuts_file()``: ``$SPARSESORT_SHORTCUTS`` or ``~/.config/sparsesort/shortcuts.json``)
overrides any of them; ``""`` removes a key. The help page lists the action names to use there.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMainWindow, QMenu

DOCK_KEY_PREFIXES = ("Alt+", "Ctrl+Alt+", "Ctrl+Shift+Alt+")


def shortcuts_file() -> Path:
    explicit = os.environ.get("SPARSESORT_SHORTCUTS")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "sparsesort" / "shortcuts.json"


def load_overrides(path: Path | None = None) -> tuple[dict[str, str], str | None]:
    """(name -> key, problem): the user's key overrides, and what was wrong with the file if anything."""
    path = path or shortcuts_file()
    if not path.exists():
        return {}, None
    try:
        values = json.loads(path.read_text())
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise ValueError("expected an object of action names and key strings")
    except (OSError, ValueError) as exc:
        return {}, f"{path}: ignored ({exc})"
    return {str(k): v for k, v in values.items()}, None


@dataclass
class ActionEntry:
    name: str
    menu: str
    text: str
    shortcut: str
    action: QAction
    overridden: bool = False


class ActionRegistry:
    def __init__(self, window: QMainWindow, overrides: dict[str, str] | None = None):
        self.window = window
        self.entries: dict[str, ActionEntry] = {}
        self.menus: dict[str, QMenu] = {}
        self.overrides = dict(overrides or {})
        self._dock_keys = iter([f"{prefix}{i}" for prefix in DOCK_KEY_PREFIXES for i in range(1, 10)])

    def menu(self, title: str) -> QMenu:
        if title not in self.menus:
            self.menus[title] = self.window.menuBar().addMenu(title)
        return self.menus[title]

    def add(self, name: str, menu: str, text: str, shortcut: str | QKeySequence.StandardKey, callback,
            checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        overridden = name in self.overrides
        key = QKeySequence(self.overrides[name] if overridden else shortcut)
        action.setShortcut(key)
        action.setCheckable(checkable)
        action.triggered.connect(callback)
        self.window.addAction(action)  # keys work even while the menu bar is hidden
        self.menu(menu).addAction(action)
        self.entries[name] = ActionEntry(name, menu, text.replace("&", ""),
                                         key.toString(QKeySequence.SequenceFormat.NativeText), action, overridden)
        return action

    def add_dock_toggle(self, name: str, dock) -> QAction:
        """View > NAME shows or hides a dock and stays checked while the dock is shown; its key is the next
        free dock key."""
        action = self.add(f"view_{name.lower().replace(' ', '_')}", "&View", name, next(self._dock_keys, ""),
                          dock.setVisible, checkable=True)
        dock.visibilityChanged.connect(lambda _: action.setChecked(not dock.isHidden()))
        return action

    def __getitem__(self, name: str) -> QAction:
        return self.entries[name].action

    def clashes(self) -> list[tuple[str, list[str]]]:
        """Keys given to more than one action: (key, action names)."""
        by_key: dict[str, list[str]] = {}
        for e in self.entries.values():
            if e.shortcut:
                by_key.setdefault(e.shortcut, []).append(e.name)
        return [(key, names) for key, names in by_key.items() if len(names) > 1]
