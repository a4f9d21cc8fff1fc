"""The router and the backend clients never import Home Assistant."""

import ast
from pathlib import Path

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
