"""The engine's layout keeps its promises: Qt-free, no import circles, nothing from the application."""
import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ENGINE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_the_engine_imports_neither_qt_nor_the_application():
    for path in ENGINE.rglob("*.py"):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("PyQt6", "PyQt5", "PySide6", "pyqtgraph", "app")}
        assert not bad, f"{path} imports {bad}"


def test_no_import_circles_between_engine_modules():
    graph = _graph()
    # package __init__ files that only re-export are left out: importing a package runs them first anyway
    graph = {name: {m for m in deps if not ENGINE.joinpath(*m.split(".")[1:], "__init__.py").exists()}
             for name, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(name, trail):
        state[name] = 1
        for dep in graph.get(name, ()):
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail[trail.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, trail + [dep])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_the_public_api_is_importable_from_the_package():
    import engine
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name
