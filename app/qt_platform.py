"""Checks, before Qt is loaded, that its platform plugin can start; otherwise one line says what to do.

Qt itself aborts the process (SIGABRT) when its xcb plugin misses a system library, and its message
blames the plugin rather than the library. Here the plugin's own dependencies are read with ``ldd``
(nothing is hard-coded), and each missing library is named with the Debian package that provides it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay", "minimalegl")
EXIT_NO_PLATFORM = 2


def _qt_folder() -> Path | None:
    try:
        import PyQt6  # the package only: no Qt library is loaded by this import
    except ImportError:
        return None
    return Path(PyQt6.__file__).resolve().parent / "Qt6"


def xcb_plugin_files(qt_folder: Path | None = None) -> list[Path]:
    qt_folder = qt_folder or _qt_folder()
    if qt_folder is None:
        return []
    candidates = [qt_folder / "plugins" / "platforms" / "libqxcb.so", qt_folder / "lib" / "libQt6XcbQpa.so.6"]
    return [path for path in candidates if path.exists()]


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reports as not found, in order, once each."""
    found = re.findall(r"^\s*(\S+)\s*=>\s*not found", ldd_output, flags=re.M)
    return list(dict.fromkeys(found))


def debian_package(soname: str) -> str:
    """Debian's package for a shared library: libxcb-icccm.so.4 -> libxcb-icccm4, libdbus-1.so.3 -> libdbus-1-3."""
    match = re.match(r"^(lib[^.]+)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def _ldd(paths: list[Path]) -> str:
    ldd = shutil.which("ldd")
    if ldd is None or not paths:
        return ""
    try:
        done = subprocess.run([ldd, *map(str, paths)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout


def platform_problem(environ=None, ldd_output: str | None = None) -> str | None:
    """One line saying why Qt's window cannot open here, or None when it can (as far as can be told)."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in HEADLESS_PLATFORMS:
        return None
    wayland = bool(environ.get("WAYLAND_DISPLAY")) and platform in ("", "wayland")
    if wayland:
        return None
    if not environ.get("DISPLAY"):
        return ("sparsesort: no display to open the window on (DISPLAY is not set). On a machine without a "
                "screen run it under a virtual display, `xvfb-run sparsesort`, or without any window, "
                "QT_QPA_PLATFORM=offscreen sparsesort.")
    output = _ldd(xcb_plugin_files()) if ldd_output is None else ldd_output
    missing = missing_libraries(output)
    if missing:
        packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
        return (f"sparsesort: Qt's X11 (xcb) platform plugin cannot load: {', '.join(missing)} not found. "
                f"Install with: sudo apt-get install {packages}")
    return None


def exit_if_qt_cannot_start() -> None:
    problem = platform_problem()
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(EXIT_NO_PLATFORM)
