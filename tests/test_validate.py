"""script/validate passes on this tree, and fails, saying what and where, on each breakage.

Each test breaks one thing in a copy of the repository (a missing Swedish key,
a placeholder that differs, a missing brand image, a key the code uses but no
translation has, a service field services.yaml lacks...) and checks that the
check concerned reports it. One run goes through the command line, where the
shared tools are absent, to see them skipped (and said so) and the exit code.
"""

from collections.abc import Callable
import importlib
import json
from pathlib import Path
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
DOMAIN = "alice_voice"
if str(ROOT / "script") not in sys.path:
    sys.path.insert(0, str(ROOT / "script"))
validate: Any = importlib.import_module("validate")
validate_code: Any = importlib.import_module("validate_code")

COPIED = ("hacs.json", "LICENSE", "README.md", "requirements.txt", "pyproject.toml")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what script/validate reads (without the router's weights and the card)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in COPIED:
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "blueprints", root / "blueprints")
    shutil.copytree(
        ROOT / "custom_components",
        root / "custom_components",
        ignore=shutil.ignore_patterns("__pycache__", "*.npz", "www"),
    )
    shutil.copytree(ROOT / "script", root / "script", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".github", root / ".github")
    return root


def package(root: Path) -> Path:
    """The integration's folder in a copy."""
    return root / "custom_components" / DOMAIN


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a JSON file in place."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def drop(path: str) -> Callable[[dict[str, Any]], None]:
    """A change that deletes the dotted ``path``."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return change


def set_value(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the dotted ``path``."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def translations(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Make the same change in every language."""
    for path in (package(root) / "translations").glob("*.json"):
        edit_json(path, change)


def add_module(root: Path, code: str) -> None:
    """Add a module to the integration's copy."""
    (package(root) / "broken.py").write_text(code, encoding="utf-8")


def code_problems(root: Path) -> list[str]:
    """What the code checks find in a copy."""
    return list(validate_code.check_code(root, DOMAIN))


def test_this_tree_passes(repo: Path) -> None:
    """Every check passes on the repository as it is."""
    for check in (
        validate.check_hacs_json,
        validate.check_manifest,
        validate.check_repository,
        validate.check_translations,
        validate.check_blueprints,
        validate.check_quality_scale,
        validate.check_workflows,
    ):
        assert check(repo) == [], check.__name__
    notes: list[str] = []
    assert validate_code.check_code(repo, DOMAIN, notes) == []
    assert notes == []  # every key of en.json is used by the code


def reorder_manifest(data: dict[str, Any]) -> None:
    """Move version before codeowners."""
    version = data.pop("version")
    rest = dict(data)
    data.clear()
    data.update({"domain": rest.pop("domain"), "name": rest.pop("name"), "version": version})
    data.update(rest)


def pin_openai_elsewhere(root: Path) -> None:
    """openai pinned to another version than core's, in the manifest and requirements.txt."""
    edit_json(
        package(root) / "manifest.json",
        lambda data: data.update(
            requirements=[
                "openai[realtime]==3.9.0" if r.startswith("openai") else r
                for r in data["requirements"]
            ]
        ),
    )
    txt = root / "requirements.txt"
    txt.write_text(
        txt.read_text(encoding="utf-8").replace(
            "openai[realtime]==3.10.0", "openai[realtime]==3.9.0"
        ),
        encoding="utf-8",
    )


def edit_yaml(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a YAML file in place (plain YAML only)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def unpin_checkout(root: Path) -> None:
    """Use actions/checkout by its moving tag."""
    path = root / ".github" / "workflows" / "test.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "checkout@v4"),
        encoding="utf-8",
    )


def grant_permissions(root: Path) -> None:
    """Give the validate workflow write access to everything."""
    path = root / ".github" / "workflows" / "validate.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("permissions: {}", "permissions: write-all"), encoding="utf-8")


def _first_blueprint(root: Path) -> Path:
    return sorted((root / "blueprints").rglob("*.yaml"))[0]


def break_blueprint_input(root: Path) -> None:
    """Refer to an input the blueprint does not declare."""
    path = _first_blueprint(root)
    path.write_text(
        path.read_text(encoding="utf-8") + "\nvariables:\n  oops: !input undeclared\n",
        encoding="utf-8",
    )


def break_blueprint_source(root: Path) -> None:
    """Point source_url at another repository."""
    path = _first_blueprint(root)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("github.com/alice-voice/", "github.com/someone-else/"))


# --- each breakage is reported -------------------------------------------------------------

BREAKAGES: list[tuple[str, Callable[[Path], object], str, str]] = [
    (
        "a Swedish key missing",
        lambda r: edit_json(package(r) / "translations" / "sv.json", drop("exceptions.tool_loop")),
        "check_translations",
        "sv.json: lacks exceptions.tool_loop.message",
    ),
    (
        "a key only in Swedish",
        lambda r: edit_json(
            package(r) / "translations" / "sv.json", set_value("exceptions.extra", {"message": "x"})
        ),
        "check_translations",
        "sv.json: has exceptions.extra.message, which en.json does not",
    ),
    (
        "a placeholder that differs",
        lambda r: edit_json(
            package(r) / "translations" / "sv.json",
            set_value("exceptions.input_too_long.message", "För långt: högst {max} tecken."),
        ),
        "check_translations",
        "exceptions.input_too_long.message has placeholders ['max'], en.json ['max_chars']",
    ),
    (
        "a [%key:] reference",
        lambda r: translations(
            r, set_value("config.abort.already_configured", "[%key:common::abort%]")
        ),
        "check_translations",
        "uses a [%key:...] reference",
    ),
    (
        "an empty string",
        lambda r: edit_json(
            package(r) / "translations" / "sv.json", set_value("entity.select.mode.name", " ")
        ),
        "check_translations",
        "entity.select.mode.name is empty",
    ),
    (
        "a missing brand image",
        lambda r: (package(r) / "brand" / "icon.png").unlink(),
        "check_repository",
        "brand/icon.png: missing",
    ),
    (
        "a brand image of the wrong size",
        lambda r: shutil.copy(
            package(r) / "brand" / "icon@2x.png", package(r) / "brand" / "icon.png"
        ),
        "check_repository",
        "brand/icon.png: 512×512, must be 256×256",
    ),
    (
        "a brand image that is no PNG",
        lambda r: (package(r) / "brand" / "logo.png").write_text("<svg/>"),
        "check_repository",
        "brand/logo.png: not a PNG",
    ),
    (
        "no LICENSE",
        lambda r: (r / "LICENSE").unlink(),
        "check_repository",
        "LICENSE: missing",
    ),
    (
        "an unknown hacs.json key",
        lambda r: edit_json(r / "hacs.json", set_value("domains", ["conversation"])),
        "check_hacs_json",
        "hacs.json: unknown key 'domains'",
    ),
    (
        "hacs.json newer than our Home Assistant",
        lambda r: edit_json(r / "hacs.json", set_value("homeassistant", "2099.1.0")),
        "check_hacs_json",
        "is newer than the",
    ),
    (
        "manifest keys out of order",
        lambda r: edit_json(package(r) / "manifest.json", reorder_manifest),
        "check_manifest",
        "keys must be domain, name, then sorted",
    ),
    (
        "manifest without a version",
        lambda r: edit_json(package(r) / "manifest.json", drop("version")),
        "check_manifest",
        "version is required",
    ),
    (
        "a pin other than core's",
        pin_openai_elsewhere,
        "check_manifest",
        "differs from Home Assistant core's openai==",
    ),
    (
        "a manifest requirement not in requirements.txt",
        lambda r: edit_json(
            package(r) / "manifest.json",
            set_value("requirements", ["ollama>=0.6.2,<1", "numpy>=2.3.2,<3", "httpx==0.28.1"]),
        ),
        "check_manifest",
        "httpx==0.28.1: requirements.txt must pin httpx",
    ),
    (
        "core's package pinned exactly in the manifest",
        lambda r: edit_json(
            package(r) / "manifest.json",
            set_value("requirements", ["ollama>=0.6.2,<1", "numpy==2.3.2"]),
        ),
        "check_manifest",
        "numpy==2.3.2: core pins numpy too, so give a range",
    ),
    (
        "core's package without an upper bound",
        lambda r: edit_json(
            package(r) / "manifest.json",
            set_value("requirements", ["ollama>=0.6.2", "numpy>=2.3.2,<3"]),
        ),
        "check_manifest",
        "ollama>=0.6.2 needs an upper bound",
    ),
    (
        "a quality scale rule missing",
        lambda r: edit_yaml(package(r) / "quality_scale.yaml", drop("rules.devices")),
        "check_quality_scale",
        "lacks the rule devices",
    ),
    (
        "an exemption without a comment",
        lambda r: edit_yaml(
            package(r) / "quality_scale.yaml", set_value("rules.discovery", "exempt")
        ),
        "check_quality_scale",
        "discovery is exempt and needs a comment",
    ),
    (
        "a status that is not one",
        lambda r: edit_yaml(
            package(r) / "quality_scale.yaml", set_value("rules.devices", "partly")
        ),
        "check_quality_scale",
        "devices has status 'partly'",
    ),
    (
        "a blueprint using an undeclared input",
        break_blueprint_input,
        "check_blueprints",
        "Missing input definition for undeclared",
    ),
    (
        "a blueprint with another source_url",
        break_blueprint_source,
        "check_blueprints",
        "source_url must be https://github.com/alice-voice/alice_voice/blob/main/blueprints/",
    ),
    (
        "an action used by its tag",
        unpin_checkout,
        "check_workflows",
        "actions/checkout@v4 is not pinned by commit SHA",
    ),
    (
        "a workflow with default permissions",
        grant_permissions,
        "check_workflows",
        "validate.yml: needs `permissions: {}` at the top",
    ),
    (
        "no hassfest workflow",
        lambda root: (root / ".github" / "workflows" / "validate.yml").unlink(),
        "check_workflows",
        "nothing runs hassfest",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "check", "expected"),
    [pytest.param(change, check, expected, id=name) for name, change, check, expected in BREAKAGES],
)
def test_a_breakage_is_reported(
    repo: Path, breakage: Callable[[Path], object], check: str, expected: str
) -> None:
    """The check concerned names the problem."""
    assert getattr(validate, check)(repo) == []
    breakage(repo)
    problems = getattr(validate, check)(repo)
    assert any(expected in problem for problem in problems), problems


CODE_BREAKAGES: list[tuple[str, Callable[[Path], object], str]] = [
    (
        "a message both languages lack",
        lambda r: translations(r, drop("exceptions.tool_loop")),
        "paths/think.py:",
    ),
    (
        "a new key in the code",
        lambda r: add_module(
            r,
            "from .errors import AliceVoiceTurnError\n\n\n"
            "def fail() -> None:\n"
            '    raise AliceVoiceTurnError("no_such_key")\n',
        ),
        "broken.py:5: translations/en.json lacks exceptions.no_such_key.message",
    ),
    (
        "a key through a dict of keys",
        lambda r: add_module(
            r,
            "from .tools import ToolError\n\nKEYS = {'a': 'calendar_none', 'b': 'no_key_b'}\n\n\n"
            "def fail(kind: str) -> None:\n"
            "    raise ToolError(KEYS.get(kind, 'calendar_none'))\n",
        ),
        "lacks exceptions.no_key_b.message",
    ),
    (
        "a placeholder the call does not give",
        lambda r: add_module(
            r,
            "from .errors import AliceVoiceTurnError\n\n\n"
            "def fail() -> None:\n"
            '    raise AliceVoiceTurnError("input_too_long", {"max": "3"})\n',
        ),
        "exceptions.input_too_long.message uses {max_chars}, which the call does not give",
    ),
    (
        "a translated HomeAssistantError with an unknown key",
        lambda r: add_module(
            r,
            "from homeassistant.exceptions import HomeAssistantError\n\nfrom .const import DOMAIN\n\n\n"
            "def fail() -> None:\n"
            '    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="gone")\n',
        ),
        "lacks exceptions.gone.message",
    ),
    (
        "a key no static scan can follow",
        lambda r: add_module(
            r,
            "import os\n\nfrom .errors import AliceVoiceTurnError\n\n\n"
            "def fail() -> None:\n"
            '    raise AliceVoiceTurnError(os.environ["KEY"])\n',
        ),
        "broken.py:7: cannot follow",
    ),
    (
        "an entity name missing",
        lambda r: translations(r, drop("entity.sensor.errors")),
        "entity.sensor.errors.name",
    ),
    (
        "a sensor's key from an f-string over an enum",
        lambda r: translations(r, drop("entity.sensor.think_latency")),
        "entity.sensor.think_latency.name",
    ),
    (
        "an ENUM state missing",
        lambda r: translations(r, drop("entity.sensor.last_intent.state.weather")),
        "entity.sensor.last_intent.state.weather",
    ),
    (
        "a select option missing",
        lambda r: translations(r, drop("entity.select.mode.state.hybrid")),
        "entity.select.mode.state.hybrid",
    ),
    (
        "an event type missing",
        lambda r: translations(
            r, drop("entity.event.activity.state_attributes.event_type.state.fallback")
        ),
        "entity.event.activity.state_attributes.event_type.state.fallback",
    ),
    (
        "an entity name's placeholder not set",
        lambda r: translations(r, set_value("entity.switch.local_only.name", "Privacy for {room}")),
        "entity.switch.local_only.name uses {room}, which LocalOnlySwitch does not set",
    ),
    (
        "a selector option missing",
        lambda r: translations(r, drop("selector.think_level.options.high")),
        "selector.think_level.options.high",
    ),
    (
        "a config flow error missing",
        lambda r: translations(r, drop("config.error.invalid_url")),
        "config.error.invalid_url",
    ),
    (
        "a subentry abort reason missing",
        lambda r: translations(r, drop("config_subentries.conversation.abort.download_failed")),
        "config_subentries.conversation.abort.download_failed",
    ),
    (
        "an implicit abort reason missing",
        lambda r: translations(r, drop("config.abort.reauth_successful")),
        "config.abort.reauth_successful",
    ),
    (
        "a progress action missing",
        lambda r: translations(r, drop("config_subentries.conversation.progress.download")),
        "config_subentries.conversation.progress.download",
    ),
    (
        "a service field not in services.yaml",
        lambda r: edit_yaml(package(r) / "services.yaml", drop("classify.fields.audio_features")),
        "classify lacks the field audio_features (its schema has it)",
    ),
    (
        "a service services.yaml does not describe",
        lambda r: (package(r) / "services.yaml").write_text("{}\n"),
        "service classify is not in services.yaml",
    ),
    (
        "a service field name missing",
        lambda r: translations(r, drop("services.classify.fields.text.name")),
        "services.classify.fields.text.name",
    ),
    (
        "a service without an icon",
        lambda r: edit_json(package(r) / "icons.json", drop("services")),
        "icons.json: services.classify has no icon",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [pytest.param(change, expected, id=name) for name, change, expected in CODE_BREAKAGES],
)
def test_a_code_breakage_is_reported(
    repo: Path, breakage: Callable[[Path], object], expected: str
) -> None:
    """The code checks name the problem, with the place in the code."""
    breakage(repo)
    problems = code_problems(repo)
    assert any(expected in problem for problem in problems), problems


def test_unused_translations_are_noted(repo: Path) -> None:
    """A message no code uses is a note, not a failure."""
    translations(repo, set_value("exceptions.orphan", {"message": "Nobody says this."}))
    notes: list[str] = []
    assert validate_code.check_code(repo, DOMAIN, notes) == []
    assert notes == ["exceptions.orphan is in en.json but no code uses it"]


def test_command_line_without_the_shared_tools(repo: Path) -> None:
    """Absent ../shared/tools: hassfest and HACS's schemas are skipped, said so; a failure exits 1."""
    command = [sys.executable, str(repo / "script" / "validate.py")]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hassfest skipped: ../shared/tools/hassfest not found" in result.stdout
    assert "HACS schemas skipped: ../shared/tools/hacs not found" in result.stdout
    assert "script/validate: all checks passed" in result.stdout

    edit_json(package(repo) / "translations" / "sv.json", drop("exceptions.tool_loop"))
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1
    assert "FAIL  translations" in result.stdout
    assert "sv.json: lacks exceptions.tool_loop.message" in result.stdout
    assert "script/validate: 2 check(s) failed" in result.stdout  # translations and code
