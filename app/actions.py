"""The action registry: every command gets a menu entry, a key and a line in the help dialog."""
from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QMainWindow, QMenu


@dataclass
class ActionEntry:
    name: str
    menu: str
    text: str
    shortcut: str
    action: QAction


class ActionRegistry:
    def __init__(self, window: QMainWindow):
        self.window = window
        self.entries: dict[str, ActionEntry] = {}
        self.menus: dict[str, QMenu] = {}

    def menu(self, title: str) -> QMenu:
        if title not in self.menus:
            self.menus[title] = self.window.menuBar().addMenu(title)
        return self.menus[title]

    def add(self, name: str, menu: str, text: str, shortcut: str | QKeySequence.StandardKey, callback,
            checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        key = QKeySequence(shortcut)
        action.setShortcut(key)
        action.setCheckable(checkable)
        action.triggered.connect(callback)
        self.window.addAction(action)  # keys work even while the menu bar is hidden
        self.menu(menu).addAction(action)
        self.entries[name] = ActionEntry(name, menu, text.replace("&", ""),
                                         key.toString(QKeySequence.SequenceFormat.NativeText), action)
        return action

    def add_dock_toggle(self, name: str, dock, shortcut: str) -> QAction:
        """View > NAME shows or hides a dock and stays checked while the dock is shown."""
        action = self.add(f"view_{name.lower().replace(' ', '_')}", "&View", name, shortcut, dock.setVisible,
                          checkable=True)
        dock.visibilityChanged.connect(lambda _: action.setChecked(not dock.isHidden()))
        return action

    def __getitem__(self, name: str) -> QAction:
        return self.entries[name].action

    def help_rows(self) -> list[tuple[str, str, str]]:
        return [(e.menu.replace("&", ""), e.text, e.shortcut) for e in self.entries.values()]
