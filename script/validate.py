"""Validate Alice Voice the way Home Assistant and HACS do, offline, in a few seconds.

``script/validate`` runs this with the project's ``.venv`` (``.ci/run`` runs it
before the tests). It exits 1 and prints every problem as ``path:line: what``
when a check fails; 0 when all pass. Checks:

hassfest      Home Assistant core's ``script/hassfest`` on the integration, from
              ``../shared/tools/hassfest`` (next to the repository). When that folder
              is missing (a plain clone, GitHub's runners: the hassfest workflow runs
              the upstream action there) it says so and does not fail on that alone.
hacs          HACS's own schemas for ``hacs.json`` and the manifest, from
              ``../shared/tools/hacs`` (same rule when missing), and always, built in:
              ``hacs.json``'s keys and types, the manifest's required and sorted keys,
              its requirements (the README's requirements policy: a range around core's
              pin where core pins the package, ``==`` otherwise, and an exact pin in
              ``requirements.txt`` that the manifest admits), the LICENSE, the README, one integration
              folder, and the brand images (PNG, exact sizes).
translations  every ``translations/*.json`` has exactly en.json's keys, with the same
              ``{placeholders}``, no empty strings and no ``[%key:...]`` references.
code          what the code names exists in every language: messages of exceptions and
              tool errors, issues, entities (names, states, event types), selectors, flow
              steps, aborts and errors (``script/validate_code.py``, a static scan).
services      the services the code registers are those of services.yaml, with the same
              fields, names and descriptions in the translations, and an icon.
blueprints    every blueprint passes Home Assistant's blueprint schema and input check,
              needs at most the Home Assistant we pin, and names its own source_url.
              The complete check (the automation schema, a real run) is pytest's
              tests/test_blueprints.py, which script/test runs.
workflows     ``.github/workflows/``: ``permissions: {}`` at the top of each, every
              action pinned by commit SHA, and hassfest, HACS's action and the README's
              test command (script/setup, script/test) all run.
quality       quality_scale.yaml lists exactly the 54 rules, each done, todo or exempt,
              every exempt and todo with a comment (tests/test_quality_scale.py then
              checks that the done rules hold).

Options: ``--no-hassfest`` skips hassfest (for a quick run while editing).
"""

from collections.abc import Callable, Iterator
import importlib.util
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import time
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version
from validate_code import check_code
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "alice_voice"
TOOLS = ROOT.parent / "shared" / "tools"

HACS_KEYS: dict[str, type | tuple[type, ...]] = {
    "content_in_root": bool,
    "country": (str, list),
    "filename": str,
    "hacs": str,
    "hide_default_branch": bool,
    "homeassistant": str,
    "persistent_directory": str,
    "render_readme": bool,
    "zip_release": bool,
    "name": str,
}
MANIFEST_REQUIRED = (
    "domain",
    "name",
    "version",
    "documentation",
    "issue_tracker",
    "codeowners",
    "requirements",
)
#: Brand images: file -> exact (width, height); None: a logo, shortest side in the range.
BRAND_IMAGES: dict[str, tuple[int, int] | None] = {
    "icon.png": (256, 256),
    "icon@2x.png": (512, 512),
    "logo.png": None,
}
BRAND_OPTIONAL: dict[str, tuple[int, int] | None] = {
    "dark_icon.png": (256, 256),
    "dark_icon@2x.png": (512, 512),
    "logo@2x.png": None,
    "dark_logo.png": None,
    "dark_logo@2x.png": None,
}
LOGO_SHORTEST_SIDE = {"logo.png": (128, 256), "dark_logo.png": (128, 256)}
LOGO2X_SHORTEST_SIDE = (256, 512)

#: The Integration Quality Scale's rules by tier, as core's hassfest knows them
#: (every core quality_scale.yaml lists exactly these; ``check_quality_scale``
#: compares them with the installed Home Assistant's when it can).
RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
STATUSES = ("done", "todo", "exempt")
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*[,}]")


def package_dir(root: Path) -> Path:
    """The integration's folder."""
    return root / "custom_components" / DOMAIN


def read_json(path: Path, root: Path, problems: list[str]) -> Any:
    """A JSON file, or None with a problem when it is missing or broken."""
    rel = path.relative_to(root)
    if not path.is_file():
        problems.append(f"{rel}: missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        problems.append(f"{rel}: not valid JSON ({err})")
        return None


def pinned_homeassistant(root: Path) -> Version | None:
    """The Home Assistant version requirements.txt pins."""
    path = root / "requirements.txt"
    if not path.is_file():
        return None
    match = re.search(r"^homeassistant==(\S+)", path.read_text(encoding="utf-8"), re.M)
    return Version(match.group(1)) if match else None


def homeassistant_dir() -> Path | None:
    """The installed homeassistant package (found, not imported)."""
    spec = importlib.util.find_spec("homeassistant")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


# --- hacs.json, the manifest, the repository -------------------------------------------------


def check_hacs_json(root: Path) -> list[str]:
    """hacs.json: HACS's keys and types; its minimum Home Assistant is not above our pin."""
    problems: list[str] = []
    data = read_json(root / "hacs.json", root, problems)
    if data is None:
        return problems
    if not isinstance(data, dict):
        return ["hacs.json: not an object"]
    for key, value in data.items():
        if key not in HACS_KEYS:
            problems.append(f"hacs.json: unknown key {key!r} (HACS knows {', '.join(HACS_KEYS)})")
        elif not isinstance(value, HACS_KEYS[key]):
            problems.append(f"hacs.json: {key} must be {HACS_KEYS[key]}, not {value!r}")
    if not data.get("name"):
        problems.append("hacs.json: name is required")
    if data.get("content_in_root") or data.get("zip_release"):
        problems.append("hacs.json: the integration lives in custom_components/, not at the root")
    if isinstance(minimum := data.get("homeassistant"), str):
        try:
            version = Version(minimum)
        except InvalidVersion:
            problems.append(f"hacs.json: homeassistant {minimum!r} is not a version")
        else:
            pinned = pinned_homeassistant(root)
            if pinned is not None and version > pinned:
                problems.append(
                    f"hacs.json: homeassistant {minimum} is newer than the {pinned} we test with"
                )
    return problems


def core_pins() -> dict[str, set[str]]:
    """What Home Assistant core pins with ==: package (lower case) -> versions."""
    ha_dir = homeassistant_dir()
    pins: dict[str, set[str]] = {}
    if ha_dir is None:
        return pins
    lines: list[str] = []
    if (constraints := ha_dir / "package_constraints.txt").is_file():
        lines += constraints.read_text(encoding="utf-8").splitlines()
    for manifest in ha_dir.glob("components/*/manifest.json"):
        try:
            lines += json.loads(manifest.read_text(encoding="utf-8")).get("requirements", [])
        except ValueError:
            continue
    for line in lines:
        try:
            requirement = Requirement(line.split("#")[0].strip())
        except InvalidRequirement:
            continue
        for spec in requirement.specifier:
            if spec.operator == "==":
                pins.setdefault(canonical(requirement.name), set()).add(spec.version)
    return pins


def canonical(name: str) -> str:
    """A package name as pip compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_manifest(root: Path) -> list[str]:
    """manifest.json: HACS's required keys, hassfest's key order, requirements as we pin them."""
    problems: list[str] = []
    path = package_dir(root) / "manifest.json"
    rel = path.relative_to(root)
    data = read_json(path, root, problems)
    if not isinstance(data, dict):
        return problems or [f"{rel}: not an object"]
    problems += [f"{rel}: {key} is required" for key in MANIFEST_REQUIRED if key not in data]
    keys = list(data)
    if keys[:2] != ["domain", "name"] or keys[2:] != sorted(keys[2:]):
        problems.append(f"{rel}: keys must be domain, name, then sorted (hassfest's order)")
    if data.get("domain") != DOMAIN:
        problems.append(f"{rel}: domain must be {DOMAIN!r}, the folder's name")
    try:
        Version(str(data.get("version")))
    except InvalidVersion:
        problems.append(f"{rel}: version {data.get('version')!r} is not a version")
    for key in ("documentation", "issue_tracker"):
        if not str(data.get(key, "")).startswith("https://"):
            problems.append(f"{rel}: {key} must be an https URL")
    owners = data.get("codeowners")
    if not owners or not all(isinstance(o, str) and o.startswith("@") for o in owners):
        problems.append(f"{rel}: codeowners must list GitHub @handles")
    problems += check_requirements(root, rel, data.get("requirements", []))
    return problems


def check_requirements(root: Path, rel: Path, requirements: list[str]) -> list[str]:
    """Requirements as the README's policy says (see "Requirements policy").

    A package Home Assistant core pins too (numpy, openai, ollama, wyoming) gets a
    range in the manifest that holds core's version and stops before the next major
    version, never ``==``: Home Assistant installs custom integrations under its own
    constraints, so an exact pin would fail to install on the first release that moves
    core's pin. Any other package is pinned with ``==``. ``requirements.txt`` (the
    development and test environment) pins every one of them exactly, to a version the
    manifest admits (core's, where core pins it).
    """
    problems: list[str] = []
    txt = root / "requirements.txt"
    exact: dict[str, str] = {}
    if txt.is_file():
        for line in txt.read_text(encoding="utf-8").splitlines():
            try:
                pinned = Requirement(line.split("#")[0].strip())
            except InvalidRequirement:
                continue
            versions = [spec.version for spec in pinned.specifier if spec.operator == "=="]
            if versions:
                exact[canonical(pinned.name)] = versions[0]
    pins = core_pins()
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"{rel}: requirement {line!r} is not valid")
            continue
        name = canonical(requirement.name)
        specs = list(requirement.specifier)
        operators = {spec.operator for spec in specs}
        core = sorted(pins.get(name, set()))
        if core:
            for version in core:
                if "==" in operators and not requirement.specifier.contains(version):
                    problems.append(
                        f"{rel}: {line} differs from Home Assistant core's "
                        f"{requirement.name}=={version}: pin core's version"
                    )
                elif not requirement.specifier.contains(version):
                    problems.append(
                        f"{rel}: {line} excludes Home Assistant core's {requirement.name}=={version}"
                    )
            if "==" in operators:
                problems.append(
                    f"{rel}: {line}: core pins {requirement.name} too, so give a range "
                    "(>= core's version, < the next major) that survives core's next pin"
                )
            elif not operators & {"<", "<=", "~="}:
                problems.append(f"{rel}: {line} needs an upper bound (< the next major)")
        elif "==" not in operators and not operators & {"<", "<="}:
            problems.append(f"{rel}: {line} must be pinned (== or an upper bound)")
        if txt.is_file():
            version = exact.get(name)
            if version is None:
                problems.append(f"{rel}: {line}: requirements.txt must pin {requirement.name}")
            elif not requirement.specifier.contains(version):
                problems.append(
                    f"{rel}: {line} does not admit requirements.txt's {requirement.name}=={version}"
                )
    return problems


def check_repository(root: Path) -> list[str]:
    """What hacs/action checks beyond the schemas: LICENSE, README, one integration, brand."""
    problems: list[str] = []
    license_file = root / "LICENSE"
    if not license_file.is_file():
        problems.append("LICENSE: missing (HACS needs a license GitHub can detect)")
    elif "Permission is hereby granted" not in license_file.read_text(encoding="utf-8"):
        problems.append("LICENSE: not the MIT license text the project uses")
    readme = root / "README.md"
    if not readme.is_file() or not readme.read_text(encoding="utf-8").strip():
        problems.append("README.md: missing or empty")
    folders = sorted(
        p.name
        for p in (root / "custom_components").iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    )
    if folders != [DOMAIN]:
        problems.append(f"custom_components/: HACS wants one integration, found {folders}")
    brand = package_dir(root) / "brand"
    for name, size in {**BRAND_IMAGES, **BRAND_OPTIONAL}.items():
        path = brand / name
        rel = path.relative_to(root)
        if not path.is_file():
            if name in BRAND_IMAGES:
                problems.append(f"{rel}: missing")
            continue
        found = png_size(path)
        if found is None:
            problems.append(f"{rel}: not a PNG")
        elif size is not None and found != size:
            problems.append(f"{rel}: {found[0]}×{found[1]}, must be {size[0]}×{size[1]}")
        elif size is None:
            low, high = LOGO_SHORTEST_SIDE.get(name, LOGO2X_SHORTEST_SIDE)
            if not low <= min(found) <= high:
                problems.append(f"{rel}: shortest side {min(found)}, must be {low} to {high}")
    return problems


def png_size(path: Path) -> tuple[int, int] | None:
    """A PNG's (width, height) from its header; None when it is not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20]), int.from_bytes(head[20:24])


def check_hacs_schemas(root: Path, tools: Path, notes: list[str]) -> list[str]:
    """HACS's own voluptuous schemas, when ../shared/tools/hacs is there."""
    source = tools / "hacs" / "validate_schema.py"
    if not source.is_file():
        notes.append(f"HACS schemas skipped: {os.path.relpath(source.parent, root)} not found")
        return []
    spec = importlib.util.spec_from_file_location("hacs_validate_schema", source)
    assert spec is not None
    assert spec.loader is not None
    hacs = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = hacs  # its dataclasses look their module up
    spec.loader.exec_module(hacs)
    problems: list[str] = []
    for schema, path in (
        (hacs.HACS_MANIFEST_JSON_SCHEMA, root / "hacs.json"),
        (hacs.INTEGRATION_MANIFEST_JSON_SCHEMA, package_dir(root) / "manifest.json"),
    ):
        data = read_json(path, root, problems)
        if data is None:
            continue
        try:
            schema(data)
        except Exception as err:  # noqa: BLE001 - voluptuous' Invalid, whichever module made it
            problems.append(f"{path.relative_to(root)}: HACS's schema: {err}")
    return problems


# --- translations ----------------------------------------------------------------------------


def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf of a JSON tree."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, data


def check_translations(root: Path) -> list[str]:
    """Every language has en.json's keys and placeholders; no empty strings or references."""
    problems: list[str] = []
    folder = package_dir(root) / "translations"
    en = read_json(folder / "en.json", root, problems)
    if en is None:
        return problems
    reference = dict(leaves(en))
    files = sorted(folder.glob("*.json"))
    if [p.name for p in files if p.name != "en.json"] == []:
        problems.append(f"{folder.relative_to(root)}: only en.json (Alice ships sv.json too)")
    for path in files:
        rel = path.relative_to(root)
        data = read_json(path, root, problems)
        if data is None:
            continue
        strings = dict(leaves(data))
        for key, value in strings.items():
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{rel}: {key} is empty or not a string")
            elif "[%key:" in value:
                problems.append(f"{rel}: {key} uses a [%key:...] reference (core build only)")
        if path.name == "en.json":
            continue
        problems.extend(
            f"{rel}: lacks {key} (en.json has it)"
            for key in sorted(reference.keys() - strings.keys())
        )
        problems.extend(
            f"{rel}: has {key}, which en.json does not"
            for key in sorted(strings.keys() - reference.keys())
        )
        for key in sorted(set(strings) & set(reference)):
            ours = set(PLACEHOLDER.findall(str(strings[key])))
            theirs = set(PLACEHOLDER.findall(str(reference[key])))
            if ours != theirs:
                problems.append(
                    f"{rel}: {key} has placeholders {sorted(ours)}, en.json {sorted(theirs)}"
                )
    return problems


# --- blueprints ------------------------------------------------------------------------------


def check_blueprints(root: Path) -> list[str]:
    """Home Assistant's blueprint schema and input check; min_version; source_url."""
    from homeassistant.components.blueprint.errors import BlueprintException  # noqa: PLC0415
    from homeassistant.components.blueprint.models import Blueprint  # noqa: PLC0415
    from homeassistant.components.blueprint.schemas import BLUEPRINT_SCHEMA  # noqa: PLC0415
    from homeassistant.exceptions import HomeAssistantError  # noqa: PLC0415
    from homeassistant.util.yaml import load_yaml_dict  # noqa: PLC0415

    problems: list[str] = []
    folder = root / "blueprints"
    manifest = json.loads((package_dir(root) / "manifest.json").read_text(encoding="utf-8"))
    repository = str(manifest.get("documentation", "")).rstrip("/")
    pinned = pinned_homeassistant(root)
    files = sorted(folder.rglob("*.yaml"))
    if not files:
        return [f"{folder.relative_to(root)}: no blueprints"]
    for path in files:
        rel = path.relative_to(root)
        domain = path.relative_to(folder).parts[0]
        try:
            blueprint = Blueprint(
                load_yaml_dict(path), path=str(rel), expected_domain=domain, schema=BLUEPRINT_SCHEMA
            )
        except (BlueprintException, HomeAssistantError) as err:
            problems.append(f"{rel}: {err}")
            continue
        metadata = blueprint.metadata
        minimum = metadata.get("homeassistant", {}).get("min_version")
        if minimum is None:
            problems.append(f"{rel}: no homeassistant.min_version")
        elif pinned is not None and Version(minimum) > pinned:
            problems.append(f"{rel}: min_version {minimum} is newer than the {pinned} we test")
        expected = f"{repository}/blob/main/{rel}"
        if metadata.get("source_url") != expected:
            problems.append(f"{rel}: source_url must be {expected}")
    return problems


# --- quality scale ---------------------------------------------------------------------------


def core_rule_ids() -> set[str] | None:
    """The rule ids core's integrations list in their quality_scale.yaml (None if unknown)."""
    ha_dir = homeassistant_dir()
    if ha_dir is None:
        return None
    rule = re.compile(r"^  ([a-z][a-z0-9-]+):", re.M)
    ids: set[str] = set()
    for path in ha_dir.glob("components/*/quality_scale.yaml"):
        ids.update(rule.findall(path.read_text(encoding="utf-8")))
    return ids or None


def load_quality_scale(root: Path) -> dict[str, dict[str, str]]:
    """quality_scale.yaml's rules: id -> {"status": ..., "comment": ...}."""
    data = yaml.safe_load((package_dir(root) / "quality_scale.yaml").read_text(encoding="utf-8"))
    rules: dict[str, dict[str, str]] = {}
    for rule, value in ((data or {}).get("rules") or {}).items():
        rules[rule] = {"status": value} if isinstance(value, str) else dict(value or {})
    return rules


def check_quality_scale(root: Path) -> list[str]:
    """Every rule of every tier, each done/todo/exempt, comments where needed."""
    rel = (package_dir(root) / "quality_scale.yaml").relative_to(root)
    if not (root / rel).is_file():
        return [f"{rel}: missing"]
    try:
        rules = load_quality_scale(root)
    except yaml.YAMLError as err:
        return [f"{rel}: not valid YAML ({err})"]
    known = {rule for tier in RULES.values() for rule in tier}
    problems = [f"{rel}: lacks the rule {rule}" for rule in sorted(known - set(rules))]
    problems += [f"{rel}: {rule} is not a rule" for rule in sorted(set(rules) - known)]
    for rule, value in rules.items():
        status, comment = value.get("status"), str(value.get("comment", "")).strip()
        if status not in STATUSES:
            problems.append(f"{rel}: {rule} has status {status!r}, not one of {STATUSES}")
        elif status in {"exempt", "todo"} and len(comment) < 20:
            problems.append(f"{rel}: {rule} is {status} and needs a comment that says why")
        if set(value) - {"status", "comment"}:
            problems.append(f"{rel}: {rule} has keys other than status and comment")
    core = core_rule_ids()
    if core is not None and core != known:
        problems.append(
            f"script/validate.py: RULES differ from the installed Home Assistant's rules "
            f"(missing {sorted(core - known)}, unknown {sorted(known - core)})"
        )
    return problems


# --- running -----------------------------------------------------------------------------------


def start_hassfest(root: Path, tools: Path, notes: list[str]) -> subprocess.Popen[str] | None:
    """Start core's hassfest on the integration (in the background); None when not there."""
    folder = tools / "hassfest"
    if not (folder / "script" / "hassfest").is_dir():
        notes.append(f"hassfest skipped: {os.path.relpath(folder, root)} not found")
        return None
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "script.hassfest",
            "--action",
            "validate",
            "--integration-path",
            str(package_dir(root)),
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish_hassfest(process: subprocess.Popen[str]) -> list[str]:
    """The [ERROR] lines of hassfest (or its whole output when it failed otherwise)."""
    output, _ = process.communicate(timeout=300)
    if process.returncode == 0:
        return []
    errors = [line.strip() for line in output.splitlines() if "[ERROR]" in line]
    return errors or [line for line in output.splitlines() if line.strip()][-15:]


#: What a workflow needs: the upstream validators and the README's test command.
WORKFLOW_NEEDS: dict[str, str] = {
    "home-assistant/actions/hassfest@": "hassfest",
    "hacs/action@": "HACS's validator",
    "script/setup": "script/setup",
    "script/test": "script/test",
}
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def check_workflows(root: Path) -> list[str]:
    """.github/workflows: no permissions by default, actions pinned by SHA, the checks run."""
    folder = root / ".github" / "workflows"
    files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
    if not files:
        return [".github/workflows/: missing"]
    problems: list[str] = []
    text = ""
    for path in files:
        rel = path.relative_to(root)
        content = path.read_text(encoding="utf-8")
        text += content
        workflow = yaml.safe_load(content)
        if not isinstance(workflow, dict) or workflow.get("permissions") != {}:
            problems.append(f"{rel}: needs `permissions: {{}}` at the top")
            continue
        for job_name, job in (workflow.get("jobs") or {}).items():
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses is not None and not PINNED_ACTION.match(uses):
                    problems.append(f"{rel}: job {job_name}: {uses} is not pinned by commit SHA")
    problems.extend(
        f".github/workflows/: nothing runs {what}"
        for needle, what in WORKFLOW_NEEDS.items()
        if needle not in text
    )
    return problems


def run(root: Path, tools: Path, *, hassfest: bool = True) -> int:
    """Run every check; print the problems; 0 when there are none."""
    started = time.perf_counter()
    notes: list[str] = []
    process = start_hassfest(root, tools, notes) if hassfest else None
    if not hassfest:
        notes.append("hassfest skipped: --no-hassfest")
    code_notes: list[str] = []
    checks: list[tuple[str, Callable[[], list[str]]]] = [
        ("hacs.json", lambda: check_hacs_json(root)),
        ("manifest", lambda: check_manifest(root)),
        ("repository (LICENSE, README, brand)", lambda: check_repository(root)),
        ("HACS schemas", lambda: check_hacs_schemas(root, tools, notes)),
        ("translations", lambda: check_translations(root)),
        ("code vs translations and services", lambda: check_code(root, DOMAIN, code_notes)),
        ("blueprints", lambda: check_blueprints(root)),
        ("quality_scale.yaml", lambda: check_quality_scale(root)),
        ("GitHub workflows", lambda: check_workflows(root)),
    ]
    failed = 0
    for name, check in checks:
        began = time.perf_counter()
        problems = check()
        failed += report(name, problems, time.perf_counter() - began)
    if process is not None:
        began = time.perf_counter()
        failed += report("hassfest", finish_hassfest(process), time.perf_counter() - began)
    for note in notes:
        print(f"note: {note}")
    for note in code_notes:
        print(f"note: {note}")
    elapsed = time.perf_counter() - started
    if failed:
        print(f"\nscript/validate: {failed} check(s) failed ({elapsed:.1f} s)")
        return 1
    print(f"script/validate: all checks passed ({elapsed:.1f} s)")
    return 0


def report(name: str, problems: list[str], seconds: float) -> int:
    """Print one check's result; 1 when it failed."""
    if not problems:
        print(f"ok    {name} ({seconds:.2f} s)")
        return 0
    print(f"FAIL  {name}: {len(problems)} problem(s)")
    for problem in problems:
        print(f"      {problem}")
    return 1


def main(argv: list[str]) -> int:
    """Command line: ``script/validate [--no-hassfest]``."""
    unknown = [arg for arg in argv if arg != "--no-hassfest"]
    if unknown:
        print(f"usage: script/validate [--no-hassfest] (unknown: {unknown})", file=sys.stderr)
        return 2
    return run(ROOT, TOOLS, hassfest="--no-hassfest" not in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
