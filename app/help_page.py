"""Help > Keyboard shortcuts (F1): a page generated from the action registry, grouped by menu, with each
action's name for the overrides file."""
from __future__ import annotations

from html import escape
from itertools import groupby

from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from app.actions import ActionRegistry, shortcuts_file


def help_html(registry: ActionRegistry) -> str:
    parts = ["<h2>Keyboard shortcuts</h2>"]
    entries = sorted(registry.entries.values(), key=lambda e: list(registry.menus).index(e.menu))
    for menu, group in groupby(entries, key=lambda e: e.menu):
        rows = "".join(
            f"<tr><td>{escape(e.text)}</td><td><b>{escape(e.shortcut) or '—'}</b>{' *' if e.overridden else ''}</td>"
            f"<td><code>{escape(e.name)}</code></td></tr>" for e in group)
        parts.append(f"<h3>{escape(menu.replace('&', ''))}</h3><table cellspacing=0 cellpadding=3>"
                     f"<tr><th align=left>Action</th><th align=left>Key</th><th align=left>Name</th></tr>{rows}</table>")
    parts.append(f"<p>Any key can be changed in <code>{escape(str(shortcuts_file()))}</code>, a JSON object of "
                 "action names and keys, e.g. <code>{\"merge\": \"M\", \"view_probe\": \"Alt+0\"}</code> "
                 "(\"\" removes a key; * marks the keys taken from it).</p>")
    clashes = registry.clashes()
    if clashes:
        parts.append("<p><b>Keys given to more than one action:</b> " + "; ".join(
            f"{escape(k)}: {', '.join(names)}" for k, names in clashes) + "</p>")
    return "".join(parts)


class HelpPage(QDialog):
    def __init__(self, registry: ActionRegistry, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.browser = QTextBrowser()
        self.browser.setHtml(help_html(registry))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(560, 640)
