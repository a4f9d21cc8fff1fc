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
