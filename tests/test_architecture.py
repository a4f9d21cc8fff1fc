"""The router and the backend clients never import Home Assistant."""

import ast
from pathlib import Path
import subprocess
import sys

import pytest

PACKAGE = Path(__file__).parent.parent / "custom_components" / "alice_voice"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package it lives in
                base = path.parent.relative_to(PACKAGE.parent.parent).parts
                parent = base[: len(base) - node.level + 1]
                names.add(".".join([*parent, node.module or ""]).strip("."))
            else:
                names.add(node.module or "")
    return names


@pytest.mark.parametrize("folder", ["backends", "router"])
def test_no_home_assistant_imports(folder: str) -> None:
    files = sorted((PACKAGE / folder).rglob("*.py"))
    assert files, f"{folder}/ has no modules"
    for path in files:
        for name in imported_modules(path):
            assert not name.startswith("homeassistant"), f"{path.name} imports {name}"
            # Nothing outside the folder's own package from the integration either.
            if name.startswith("custom_components.alice_voice"):
                assert name.startswith(f"custom_components.alice_voice.{folder}"), (
                    f"{path.name} imports {name}"
                )


def test_no_openai_sdk_without_a_key() -> None:
    """Importing the integration and its preloaded platforms leaves the OpenAI SDK out.

    Home Assistant imports ``__init__``, ``config_flow``, ``diagnostics`` and the
    conversation platform at start-up; an entry without a key must not pay for the
    SDK (tens of MB). It is imported, off the event loop, only when a key is set.
    """
    code = (
        "import sys\n"
        "import custom_components.alice_voice as a\n"
        "import custom_components.alice_voice.config_flow\n"
        "import custom_components.alice_voice.conversation\n"
        "import custom_components.alice_voice.diagnostics\n"
        "import custom_components.alice_voice.engine\n"
        "import custom_components.alice_voice.logbook\n"
        "loaded = sorted(m for m in sys.modules if m == 'openai' or m.startswith('openai.'))\n"
        "print(len(loaded), loaded[:5])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE.parent.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.startswith("0 "), result.stdout


#: Modules that may be longer: pure vocabulary tables.
VOCABULARY_TABLES = {"router/slot_words.py"}
MAX_LINES = 600
MAX_ENGINE_LINES = 350


def test_no_module_is_too_long() -> None:
    """One job per module: none over 600 lines but the router's word tables; the engine ≤ 350."""
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if name not in VOCABULARY_TABLES:
            assert lines <= MAX_LINES, f"{name} has {lines} lines"
    engine = len((PACKAGE / "engine.py").read_text(encoding="utf-8").splitlines())
    assert engine <= MAX_ENGINE_LINES


def _runtime_imports(path: Path) -> set[str]:
    """What a module imports at run time (not under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    return imported_modules_of(tree, path)


def imported_modules_of(tree: ast.AST, path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = path.parent.relative_to(PACKAGE.parent.parent).parts
            parent = base[: len(base) - node.level + 1]
            module = ".".join([*parent, node.module or ""]).strip(".")
            names.add(module)
            if node.module is None:  # "from . import x": x may be a module
                names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


OWN = "custom_components.alice_voice"


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # Only set-up knows the engine; the paths know neither it nor each other.
        ("conversation.py", {f"{OWN}.engine", f"{OWN}.paths"}),
        ("coordinator.py", {f"{OWN}.engine", f"{OWN}.paths", f"{OWN}.llm_data"}),
        ("clients.py", {f"{OWN}.engine", f"{OWN}.coordinator", f"{OWN}.paths"}),
        ("llm_data.py", {f"{OWN}.engine", f"{OWN}.paths"}),
        ("guardrails.py", {f"{OWN}.engine", f"{OWN}.paths", f"{OWN}.coordinator"}),
        ("models.py", {f"{OWN}.engine", f"{OWN}.coordinator", f"{OWN}.paths"}),
        ("paths/ha_intents.py", {f"{OWN}.engine", f"{OWN}.paths.think", f"{OWN}.paths.cloud"}),
        ("paths/canned.py", {f"{OWN}.engine", f"{OWN}.paths.think", f"{OWN}.paths.cloud"}),
        ("paths/think.py", {f"{OWN}.engine", f"{OWN}.paths.cloud", f"{OWN}.paths.canned"}),
        ("paths/cloud.py", {f"{OWN}.engine", f"{OWN}.paths.think", f"{OWN}.paths.canned"}),
    ],
)
def test_imports_point_down(module: str, forbidden: set[str]) -> None:
    """The direction of imports the README's Architecture section describes."""
    imported = _runtime_imports(PACKAGE / module)
    for name in imported:
        assert not any(name == f or name.startswith(f"{f}.") for f in forbidden), (
            f"{module} imports {name}"
        )


def test_only_set_up_imports_the_engine() -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if f"{OWN}.engine" in _runtime_imports(path)
    }
    assert importers == {"__init__.py"}
