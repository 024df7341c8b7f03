"""The `sparsesort` command as a new user meets it: a start that explains itself, options where users put them."""
import os
import subprocess
import sys

import pytest

from app.launch import main as sparsesort
from app.qt_platform import debian_package, missing_libraries, platform_problem

LDD_WITHOUT_ICCCM = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


@pytest.mark.parametrize("soname, package", [
    ("libxcb-cursor.so.0", "libxcb-cursor0"), ("libxcb-icccm.so.4", "libxcb-icccm4"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"), ("libdbus-1.so.3", "libdbus-1-3"), ("libEGL.so.1", "libegl1"),
    ("libX11-xcb.so.1", "libx11-xcb1")])
def test_a_missing_library_is_named_by_its_debian_package(soname, package):
    assert debian_package(soname) == package


def test_missing_xcb_libraries_give_one_line_with_the_install_command():
    assert missing_libraries(LDD_WITHOUT_ICCCM) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    problem = platform_problem({"DISPLAY": ":0"}, ldd_output=LDD_WITHOUT_ICCCM)
    assert "\n" not in problem
    assert problem.endswith("apt-get install libxcb-cursor0 libxcb-icccm4")
    assert platform_problem({"DISPLAY": ":0"}, ldd_output="\tlibxcb.so.1 => /lib/libxcb.so.1\n") is None


def test_no_display_names_offscreen_and_xvfb_run():
    problem = platform_problem({})
    assert "QT_QPA_PLATFORM=offscreen" in problem and "xvfb-run" in problem
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert platform_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_the_start_command_exits_with_status_2_and_one_line_when_qt_cannot_start(monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("app.qt_platform._ldd", lambda paths: LDD_WITHOUT_ICCCM)
    with pytest.raises(SystemExit) as exit_info:
        sparsesort([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sudo apt-get install libxcb-cursor0 libxcb-icccm4" in err


def test_without_a_display_the_window_command_says_so_in_a_child_process():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "xvfb-run" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_is_accepted_before_and_after_the_subcommand(tmp_path, capsys, where):
    out = tmp_path / "sim.h5"
    command = ["simulate", str(out), "--minutes", "0.05"]
    argv = ["--quiet", *command] if where == "before" else [*command, "--quiet"]
    assert sparsesort(argv) == 0
    assert out.exists()
    assert "simulating" not in capsys.readouterr().err  # no progress bar


def test_without_quiet_the_progress_bar_shows(tmp_path, capsys):
    assert sparsesort(["simulate", str(tmp_path / "sim.h5"), "--minutes", "0.05"]) == 0
    assert "simulating" in capsys.readouterr().err


def test_the_engine_alone_has_no_window_command(capsys):
    from engine.cli import main as engine_main
    with pytest.raises(SystemExit):
        engine_main(["gui"])
    assert "invalid choice" in capsys.readouterr().err
