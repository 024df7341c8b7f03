"""The default layout at the three screen sizes: the Traces take 40 % of the height or more, the Raster and
the Curves have room, the Units table shows id, spikes, rate, amplitude, label and SNR without scrolling,
and the Filters lay their plots out so that titles fit."""
import pytest
from PyQt6.QtCore import QRect
from qt_windows import close_window, make_window

from app.layout import default_window_size
from app.views.units import COLUMNS


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (2560, 1440)])
def test_default_layout_at_common_screen_sizes(qtbot, tmp_path, size):
    win = make_window(qtbot, tmp_path)
    try:
        win.resize(*size)
        win.reset_layout()
        qtbot.wait(50)
        docks = {**win.docks, **win.curation_docks}
        usable = win.height() - win.menuBar().height() - win.statusBar().height()
        assert docks["Traces"].height() >= 0.4 * usable
        assert docks["Traces"].width() >= 0.4 * win.width()
        assert docks["Raster"].height() >= 150 and docks["Curves"].height() >= 150
        assert docks["Raster"].width() == docks["Traces"].width()  # one time axis under the other
        table = win.units.table
        table.resizeColumnsToContents()
        first_six = sum(table.columnWidth(COLUMNS.index(name)) for name in
                        ("unit", "spikes", "rate (Hz)", "amp.", "label", "SNR"))
        assert first_six <= table.viewport().width()
        assert [n for n, d in docks.items() if not d.visibleRegion().isEmpty() and d.width() < 200] == []
    finally:
        close_window(qtbot, win)


def test_the_default_size_fills_most_of_the_screen_and_never_more():
    assert default_window_size((1400, 900), QRect(0, 0, 1366, 740)) == (1366, 740)
    assert default_window_size((1400, 900), QRect(0, 0, 2560, 1400)) == (int(0.92 * 2560), int(0.92 * 1400))
    assert default_window_size((1400, 900), None) == (1400, 900)


def test_the_traces_keep_their_width_while_the_status_bar_changes(qtbot, tmp_path):
    """Without a central widget, every re-layout (a status text while training, the sorting bar shown
    after a λ change) moved 6 px of the Traces' width to the side columns, and every view redrew."""
    win = make_window(qtbot, tmp_path)
    try:
        win.resize(1600, 1000)
        win.reset_layout()
        qtbot.wait(50)
        widths = [win.docks[name].width() for name in ("Training", "Traces", "Filters")]
        for k in range(8):
            win.rate_label.setText(f"step {k}/8 · {1.37 * k:.2f} steps/s")
            win._on_sort_progress(0 if k % 2 == 0 else 100)
            qtbot.wait(5)
        assert [win.docks[name].width() for name in ("Training", "Traces", "Filters")] == widths
    finally:
        close_window(qtbot, win)
