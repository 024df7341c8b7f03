"""The README is what a new user follows: its commands are CI's, and every module it names exists."""
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def test_ci_runs_the_readmes_apt_get_line_and_test_command():
    packages = re.search(r'^QT_PACKAGES="([^"]+)"', CI, flags=re.M).group(1)
    command = re.search(r"^TEST_COMMAND='([^']+)'", CI, flags=re.M).group(1)
    assert f"    {command}\n" in README
    apt_line = next(line for line in README.splitlines() if "apt-get install" in line and "libxcb" in line)
    assert apt_line.split("apt-get install")[1].split() == ["python3-venv", *packages.split()]


def test_every_engine_and_app_path_the_readme_names_exists():
    for path in set(re.findall(r"`((?:engine|app|benchmarks|tests)/[\w/]+\.py)`", README)):
        assert (ROOT / path).exists(), path
    for module in set(re.findall(r"`((?:engine|app)(?:\.\w+)+)", README)):
        parts = module.split(".")
        # the longest importable prefix, then attributes
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for name in parts[cut:]:
                obj = getattr(obj, name)
            break
        else:
            raise AssertionError(f"README names {module}, which does not exist")
