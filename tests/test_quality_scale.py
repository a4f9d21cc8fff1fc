"""quality_scale.yaml lists every rule honestly, and the rules marked done hold.

hassfest does not read quality_scale.yaml for custom integrations. These tests
do what core's hassfest does for core (every rule of every tier, a valid
status, a comment on every exemption) and more: a ``todo`` must say what is
missing, and every rule marked ``done`` is checked here against the code, the
data files and the README wherever a static check can tell. A rule that no
test can check says why in ``NOT_CHECKABLE``.
"""

import ast
from collections.abc import Callable, Iterator
import importlib
import json
from pathlib import Path
import re
import sys
import tomllib
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "alice_voice"
README = (ROOT / "README.md").read_text(encoding="utf-8")
EN = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))


def _script(name: str) -> ModuleType:
    """A module of script/ (script/validate.py and its helpers)."""
    if str(ROOT / "script") not in sys.path:
        sys.path.insert(0, str(ROOT / "script"))
    return importlib.import_module(name)


validate = _script("validate")
validate_code = _script("validate_code")
code_scan = _script("code_scan")

RULES: dict[str, tuple[str, ...]] = validate.RULES
STATUS: dict[str, dict[str, str]] = validate.load_quality_scale(ROOT)


def status(rule: str) -> str:
    """A rule's status in quality_scale.yaml."""
    return STATUS[rule]["status"]


# --- the file ----------------------------------------------------------------------------------


def test_lists_every_rule_of_every_tier() -> None:
    """All 54 rules: Bronze 20, Silver 10, Gold 21, Platinum 3 (the target is platinum)."""
    assert {tier: len(rules) for tier, rules in RULES.items()} == {
        "bronze": 20,
        "silver": 10,
        "gold": 21,
        "platinum": 3,
    }
    every = {rule for rules in RULES.values() for rule in rules}
    assert set(STATUS) == every
    # The same rules as every core integration's quality_scale.yaml in the installed HA.
    assert validate.core_rule_ids() == every


def test_statuses_and_comments() -> None:
    """done, todo or exempt; an exemption says why, a todo says what is missing."""
    assert validate.check_quality_scale(ROOT) == []
    for rule, value in STATUS.items():
        assert value["status"] in {"done", "todo", "exempt"}, rule
        if value["status"] != "done":
            assert len(value.get("comment", "").split()) >= 8, f"{rule}: say why"


def test_every_done_rule_is_checked_or_explained() -> None:
    """A rule marked done has a check below, or a reason no test can tell."""
    done = {rule for rule in STATUS if status(rule) == "done"}
    assert done <= set(CHECKS) | set(NOT_CHECKABLE), done - set(CHECKS) - set(NOT_CHECKABLE)
    assert not set(CHECKS) & set(NOT_CHECKABLE)


# --- what the code looks like ------------------------------------------------------------------


def parse(name: str) -> ast.Module:
    """A module of the integration, parsed."""
    return ast.parse((PACKAGE / name).read_text(encoding="utf-8"))


def functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function and method of a tree, by name."""
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Every call in a tree."""
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def called(tree: ast.AST) -> set[str]:
    """The names of everything a tree calls (``a.b.c()`` -> ``c``)."""
    return {code_scan.callee_name(call) for call in calls(tree)}


def class_attr(cls: ast.ClassDef, name: str) -> ast.expr | None:
    """A class-body assignment's value (``_attr_x = ...``)."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in stmt.targets
        ):
            return stmt.value
    return None


def sets_on_self(cls: ast.ClassDef, name: str) -> bool:
    """Whether a method of the class assigns ``self.<name>``."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == name
        and isinstance(node.ctx, ast.Store)
        and getattr(node.value, "id", "") == "self"
        for node in ast.walk(cls)
    )


SCAN: Any = validate_code.Scan.load(ROOT, "alice_voice")
RESOLVER: Any = SCAN.resolver
PLATFORMS: list[str] = validate_code.platforms(SCAN)


def entity_classes() -> Iterator[tuple[str, list[ast.ClassDef], list[str]]]:
    """(platform, lineage within the package, every base name) of every concrete entity."""
    for platform in PLATFORMS:
        module = RESOLVER.modules[platform]
        for cls in module.classes.values():
            ref = code_scan.ClassRef(module, cls)
            if validate_code.is_entity(RESOLVER, ref) and validate_code.constructed(module, cls):
                lineage = [owner.node for owner in RESOLVER.lineage(ref)]
                bases = [ast.unparse(base) for owner in lineage for base in owner.bases]
                yield platform, lineage, bases


def lineage_has(lineage: list[ast.ClassDef], name: str, value: object = ...) -> bool:
    """Whether the class or a package base sets ``name`` (to ``value``, if given)."""
    for cls in lineage:
        found = class_attr(cls, name)
        if found is not None and (value is ... or _literal(found) == value):
            return True
        if value is ... and sets_on_self(cls, name):
            return True
    return False


def _literal(node: ast.expr) -> object:
    """A literal's value; ``...`` for anything else."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ...


def readme_section(title: str) -> str:
    """The README's text under a heading that contains ``title`` (to the next ## heading)."""
    match = re.search(rf"^#+ [^\n]*{title}[^\n]*\n(.*?)(?=^## |\Z)", README, re.M | re.S | re.I)
    assert match, f"the README has no section about {title!r}"
    return match.group(1)


# --- the checks, one per rule ------------------------------------------------------------------


def check_action_setup() -> None:
    """Services are registered from async_setup, never per entry."""
    setup = functions(parse("__init__.py"))["async_setup"]
    registered = validate_code.registered_services(SCAN)
    assert registered
    for where, _ in registered.values():
        path, line = where.rsplit(":", 1)
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        function = next(
            f
            for f in functions(tree).values()
            if f.lineno <= int(line) <= (f.end_lineno or f.lineno)
        )
        assert function.name in called(setup), f"{function.name} is not called from async_setup"
        assert not function.name.startswith("async_setup_entry")


def check_appropriate_polling() -> None:
    """No entity is polled: pushed (should_poll False) or fed by the coordinator."""
    for platform, lineage, bases in entity_classes():
        pushed = lineage_has(lineage, "_attr_should_poll", value=False)
        fed = any(
            base.startswith(("CoordinatorEntity", "conversation.ConversationEntity"))
            for base in bases
        )
        assert pushed or fed, f"{platform}: {lineage[0].name} is polled"
    const = parse("const.py")
    interval = next(
        node.value
        for node in ast.walk(const)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PROBE_INTERVAL"
    )
    assert interval is not None
    assert ast.literal_eval(interval) >= 30


def check_brands() -> None:
    """icon.png, icon@2x.png and logo.png, PNG, at the sizes HA wants."""
    problems = validate.check_repository(ROOT)
    assert not [p for p in problems if "/brand/" in p], problems


def check_common_modules() -> None:
    """The coordinator in coordinator.py, the base entity in entity.py."""
    coordinator = parse("coordinator.py")
    assert any(
        isinstance(node, ast.ClassDef)
        and any("DataUpdateCoordinator" in ast.unparse(b) for b in node.bases)
        for node in ast.walk(coordinator)
    )
    assert "AliceVoiceEntity" in {
        n.name for n in ast.walk(parse("entity.py")) if isinstance(n, ast.ClassDef)
    }


def check_config_flow() -> None:
    """A UI config flow, declared in the manifest."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config_flow"] is True
    flows = dict(validate_code.flows(SCAN))
    assert "config" in flows


def check_dependency_transparency() -> None:
    """Requirements pinned, in requirements.txt, equal to core's pins."""
    assert validate.check_manifest(ROOT) == []


def check_docs_actions() -> None:
    """Every action is documented in the README."""
    for service in validate_code.registered_services(SCAN):
        assert f"alice_voice.{service}" in README, service


def check_docs_high_level_description() -> None:
    """The README starts by saying what Alice is, in Home Assistant."""
    intro = README.split("\n## ", 1)[0]
    assert "Home Assistant" in intro
    assert len(intro.split()) > 50


def check_docs_installation_instructions() -> None:
    """HACS and manual installation, step by step."""
    section = readme_section("Installation")
    assert "HACS" in section
    assert "Manual" in section
    assert re.search(r"^1\. ", section, re.M)


def check_docs_removal_instructions() -> None:
    """How to remove the integration."""
    assert readme_section("Remov")


def check_entity_event_setup() -> None:
    """Entities subscribe in async_added_to_hass, each subscription undone on removal."""
    subscribe = {
        "async_listen",
        "async_add_listener",
        "async_track_state_change_event",
        "async_dispatcher_connect",
        "async_track_time_interval",
    }
    for _, lineage, _ in entity_classes():
        for cls in lineage:
            for method in functions(cls).values():
                for call in calls(method):
                    if code_scan.callee_name(call) not in subscribe:
                        continue
                    assert method.name == "async_added_to_hass", f"{cls.name}.{method.name}"
                    wrapped = any(
                        code_scan.callee_name(outer) == "async_on_remove" and call in outer.args
                        for outer in calls(method)
                    )
                    assert wrapped, f"{cls.name}: {ast.unparse(call)} is never undone"


def check_entity_unique_id() -> None:
    """Every entity has a unique id."""
    for platform, lineage, _ in entity_classes():
        assert lineage_has(lineage, "_attr_unique_id"), f"{platform}: {lineage[0].name}"


def check_has_entity_name() -> None:
    """Every entity sets _attr_has_entity_name = True."""
    for platform, lineage, _ in entity_classes():
        assert lineage_has(lineage, "_attr_has_entity_name", value=True), (
            f"{platform}: {lineage[0].name}"
        )


def check_runtime_data() -> None:
    """entry.runtime_data, typed; never hass.data[DOMAIN]."""
    setup_entry = functions(parse("__init__.py"))["async_setup_entry"]
    assert any(
        isinstance(node, ast.Attribute)
        and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(setup_entry)
    )
    models = (PACKAGE / "models.py").read_text(encoding="utf-8")
    assert re.search(r"^type AliceVoiceConfigEntry = ConfigEntry\[", models, re.M)
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"hass\.data(\[|\.get\(|\.setdefault\()\s*DOMAIN\b", text), path


def check_test_before_configure() -> None:
    """The config flow checks the connections before it creates the entry."""
    flow = functions(parse("config_flow.py"))
    assert "async_validate_connections" in called(flow["async_step_user"])
    for error in ("cannot_connect", "invalid_auth"):
        assert error in EN["config"]["error"]


def check_test_before_setup() -> None:
    """Setup's first refresh checks Ollama and raises what Home Assistant expects."""
    assert "async_config_entry_first_refresh" in called(
        functions(parse("__init__.py"))["async_setup_entry"]
    )
    coordinator = (PACKAGE / "coordinator.py").read_text(encoding="utf-8")
    for kind in ("ConfigEntryNotReady", "ConfigEntryAuthFailed", "ConfigEntryError"):
        assert kind in coordinator


def check_unique_config_entry() -> None:
    """One entry per Ollama server."""
    assert called(functions(parse("config_flow.py"))["async_step_user"]) & {
        "_async_abort_entries_match",
        "_abort_if_unique_id_configured",
    }


def check_action_exceptions() -> None:
    """Actions fail with translated Home Assistant errors (the modules that register them)."""
    for where, _ in validate_code.registered_services(SCAN).values():
        module = ast.parse((ROOT / where.rsplit(":", 1)[0]).read_text(encoding="utf-8"))
        raised = [
            node.exc
            for node in ast.walk(module)
            if isinstance(node, ast.Raise)
            and isinstance(node.exc, ast.Call)
            and code_scan.callee_name(node.exc) in HA_ERRORS
        ]
        assert raised, f"{where}: the action raises no Home Assistant error"
        for call in raised:
            assert "translation_key" in {kw.arg for kw in call.keywords}, ast.unparse(call)


def check_config_entry_unloading() -> None:
    """async_unload_entry unloads the platforms."""
    unload = functions(parse("__init__.py"))["async_unload_entry"]
    assert "async_unload_platforms" in called(unload)


def check_docs_configuration_parameters() -> None:
    """The README's configuration section covers every agent option."""
    section = readme_section("Configuration").lower()
    options = EN["config_subentries"]["conversation"]["step"]["set_options"]
    labels = [*options["data"].values(), *options["sections"]["advanced"]["data"].values()]
    for label in labels:
        if label == "Name":
            continue
        words = [w for w in re.findall(r"[a-z]+", label.lower()) if len(w) > 3]
        assert any(word in section for word in words), label


def check_docs_installation_parameters() -> None:
    """The README explains each field asked when adding the integration."""
    section = readme_section("Configuration").lower()
    for label in EN["config"]["step"]["user"]["data"].values():
        assert label.lower() in section, label


def check_entity_unavailable() -> None:
    """The backend-fed entities follow the coordinator (CoordinatorEntity)."""
    health = [bases for platform, _, bases in entity_classes() if platform == "binary_sensor"]
    assert health
    for bases in health:
        assert any(base.startswith("CoordinatorEntity") for base in bases)


def check_integration_owner() -> None:
    """The manifest names code owners."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["codeowners"]


def check_log_when_unavailable() -> None:
    """A backend going down and coming back is each logged once, at info."""
    coordinator = functions(parse("coordinator.py"))
    for method in ("report_failure", "_async_probe"):
        logged = [
            call for call in calls(coordinator[method]) if code_scan.callee_name(call) == "info"
        ]
        assert logged, f"{method} logs nothing at info"


def check_parallel_updates() -> None:
    """Every platform module sets PARALLEL_UPDATES."""
    for platform in PLATFORMS:
        tree = parse(f"{platform}.py")
        values = [
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(getattr(t, "id", "") == "PARALLEL_UPDATES" for t in node.targets)
        ]
        assert values, platform
        assert isinstance(ast.literal_eval(values[0]), int)


def check_reauthentication_flow() -> None:
    """A rejected key starts reauth; the flow asks for new keys."""
    flow = functions(parse("config_flow.py"))
    assert {"async_step_reauth", "async_step_reauth_confirm"} <= set(flow)
    assert "reauth_confirm" in EN["config"]["step"]
    text = "".join(p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py"))
    assert "ConfigEntryAuthFailed" in text
    assert "async_start_reauth" in text


def check_test_coverage() -> None:
    """Coverage must stay above 95 %: pyproject and script/test both say so."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["coverage"]["report"]["fail_under"] >= 95
    assert pyproject["tool"]["coverage"]["run"]["branch"] is True
    match = re.search(r"--cov-fail-under=(\d+)", (ROOT / "script" / "test").read_text())
    assert match
    assert int(match.group(1)) >= 95


def check_devices() -> None:
    """Every entity belongs to its agent's service device."""
    for platform, lineage, _ in entity_classes():
        assert lineage_has(lineage, "_attr_device_info"), f"{platform}: {lineage[0].name}"
    assert "DeviceEntryType.SERVICE" in (PACKAGE / "entity.py").read_text(encoding="utf-8")


def check_diagnostics() -> None:
    """Config entry diagnostics, with the keys redacted."""
    tree = parse("diagnostics.py")
    assert "async_get_config_entry_diagnostics" in functions(tree)
    assert "async_redact_data" in called(tree)
    text = ast.unparse(tree)
    assert "CONF_OLLAMA_API_KEY" in text
    assert "CONF_OPENAI_API_KEY" in text


def check_docs_data_update() -> None:
    """The README says what is pushed and how often a backend is probed."""
    const = parse("const.py")
    interval = next(
        ast.literal_eval(node.value)
        for node in ast.walk(const)
        if isinstance(node, ast.AnnAssign)
        and getattr(node.target, "id", "") == "PROBE_INTERVAL"
        and node.value is not None
    )
    assert f"every {interval:g} s" in README
    assert "pushed" in README


def check_docs_examples() -> None:
    """Blueprints, and the README points at them."""
    assert list((ROOT / "blueprints").rglob("*.yaml"))
    assert "blueprints/" in README


def check_docs_known_limitations() -> None:
    """A known-limitations section."""
    assert readme_section("limitation")


def check_docs_supported_functions() -> None:
    """The README names every entity platform, every tool and every action."""
    text = README.lower()
    for platform in PLATFORMS:
        if platform != "conversation":
            assert platform.replace("_", " ") in text, platform
    tools = re.findall(
        r'name = "(alice_voice__\w+)"',
        "".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")),
    )
    assert tools
    for tool in tools:
        assert tool in README, tool
    check_docs_actions()


def check_docs_troubleshooting() -> None:
    """A troubleshooting section."""
    assert readme_section("Troubleshooting").strip()


def check_docs_use_cases() -> None:
    """A section of use cases."""
    assert readme_section("use case")


def check_dynamic_devices() -> None:
    """A new agent reloads the entry; new satellites get their sensor at run time."""
    init = functions(parse("__init__.py"))
    assert "add_update_listener" in called(init["async_setup_entry"])
    assert "async_reload" in called(init["_async_update_listener"])
    sensor_setup = functions(parse("sensor.py"))["async_setup_entry"]
    assert "async_add_listener" in called(sensor_setup)


def check_entity_category() -> None:
    """Settings are CONFIG, technical figures DIAGNOSTIC."""
    for platform, lineage, _ in entity_classes():
        if platform in {"select", "switch", "binary_sensor"}:
            assert lineage_has(lineage, "_attr_entity_category"), lineage[0].name
    assert "EntityCategory.DIAGNOSTIC" in (PACKAGE / "sensor.py").read_text(encoding="utf-8")


def check_entity_device_class() -> None:
    """Binary sensors and measuring sensors have device classes."""
    for platform, lineage, _ in entity_classes():
        if platform == "binary_sensor":
            assert lineage_has(lineage, "_attr_device_class"), lineage[0].name
    sensor = (PACKAGE / "sensor.py").read_text(encoding="utf-8")
    assert "SensorDeviceClass.DURATION" in sensor
    assert "SensorDeviceClass.ENUM" in sensor


def check_entity_disabled_by_default() -> None:
    """The noisy figures are disabled by default."""
    sensor = parse("sensor.py")
    assert any(
        kw.arg == "entity_registry_enabled_default"
        for call in calls(sensor)
        for kw in call.keywords
    )
    assert "enabled=False" in ast.unparse(sensor)


def check_entity_translations() -> None:
    """Every entity is named by a translation key (or is its device's main feature)."""
    for platform, lineage, _ in entity_classes():
        main = any(
            (value := class_attr(cls, "_attr_name")) is not None and _literal(value) is None
            for cls in lineage
        )
        assert main or lineage_has(lineage, "_attr_translation_key"), lineage[0].name
        for cls in lineage:
            value = class_attr(cls, "_attr_name")
            assert value is None or _literal(value) is None, f"{platform}: hard-coded name"
    assert validate_code.check_entities(SCAN) == []


#: Home Assistant's exceptions that reach a user.
HA_ERRORS = {
    "HomeAssistantError",
    "ServiceValidationError",
    "ConfigEntryError",
    "ConfigEntryNotReady",
    "ConfigEntryAuthFailed",
}
#: Functions whose HomeAssistantErrors go to the language model, not to a user.
TO_THE_MODEL = {("guardrails.py", "guard"), ("guardrails.py", "_async_precheck")}


def check_exception_translations() -> None:
    """Every Home Assistant exception raised to a user has a translation key."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in functions(tree).values():
            if (path.name, function.name) in TO_THE_MODEL:
                continue
            for node in code_scan.local_nodes(function):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                    continue
                if code_scan.callee_name(node.exc) in HA_ERRORS:
                    keys = {kw.arg for kw in node.exc.keywords}
                    assert "translation_key" in keys, f"{path.name}:{node.lineno}"
    assert validate_code.check_messages(SCAN) == []


def check_icon_translations() -> None:
    """Icons come from icons.json, never from the code."""
    icons = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
    for platform, entities in EN["entity"].items():
        for key in entities:
            assert key in icons["entity"].get(platform, {}), f"{platform}.{key} has no icon"
    for service in EN.get("services", {}):
        assert service in icons["services"], service
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")
            assert name != "_attr_icon", f"{path.name}: an icon in the code"
            if isinstance(node, ast.Call) and code_scan.callee_name(node).endswith("Description"):
                assert "icon" not in {kw.arg for kw in node.keywords}, path


def check_reconfiguration_flow() -> None:
    """The entry and the agents can be reconfigured."""
    assert "async_step_reconfigure" in functions(parse("config_flow.py"))
    assert "reconfigure" in EN["config"]["step"]
    assert "reconfigure" in EN["config_subentries"]["conversation"]["initiate_flow"]


def check_repair_issues() -> None:
    """Problems the user must fix are repair issues."""
    text = "".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    assert "async_create_issue" in text
    assert EN.get("issues")


def check_stale_devices() -> None:
    """Every entity is added with its agent's subentry, so removing an agent removes its device."""
    for platform in PLATFORMS:
        for call in calls(parse(f"{platform}.py")):
            if code_scan.callee_name(call) == "async_add_entities":
                assert "config_subentry_id" in {kw.arg for kw in call.keywords}, platform


def check_inject_websession() -> None:
    """OpenAI gets Home Assistant's httpx client; Ollama gets its SSL context."""
    clients = parse("clients.py")
    assert any(
        kw.arg == "http_client" and "get_async_client" in ast.unparse(kw.value)
        for call in calls(clients)
        for kw in call.keywords
    )
    assert "get_default_context" in called(clients)


def check_strict_typing() -> None:
    """mypy --strict over the integration (script/test), on typed libraries."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["mypy"]["strict"] is True
    assert "mypy custom_components/alice_voice" in (ROOT / "script" / "test").read_text()
    for library in ("ollama", "openai"):
        module = importlib.import_module(library)
        assert module.__file__
        assert (Path(module.__file__).parent / "py.typed").is_file(), library


CHECKS: dict[str, Callable[[], None]] = {
    "action-setup": check_action_setup,
    "appropriate-polling": check_appropriate_polling,
    "brands": check_brands,
    "common-modules": check_common_modules,
    "config-flow": check_config_flow,
    "dependency-transparency": check_dependency_transparency,
    "docs-actions": check_docs_actions,
    "docs-high-level-description": check_docs_high_level_description,
    "docs-installation-instructions": check_docs_installation_instructions,
    "docs-removal-instructions": check_docs_removal_instructions,
    "entity-event-setup": check_entity_event_setup,
    "entity-unique-id": check_entity_unique_id,
    "has-entity-name": check_has_entity_name,
    "runtime-data": check_runtime_data,
    "test-before-configure": check_test_before_configure,
    "test-before-setup": check_test_before_setup,
    "unique-config-entry": check_unique_config_entry,
    "action-exceptions": check_action_exceptions,
    "config-entry-unloading": check_config_entry_unloading,
    "docs-configuration-parameters": check_docs_configuration_parameters,
    "docs-installation-parameters": check_docs_installation_parameters,
    "entity-unavailable": check_entity_unavailable,
    "integration-owner": check_integration_owner,
    "log-when-unavailable": check_log_when_unavailable,
    "parallel-updates": check_parallel_updates,
    "reauthentication-flow": check_reauthentication_flow,
    "test-coverage": check_test_coverage,
    "devices": check_devices,
    "diagnostics": check_diagnostics,
    "docs-data-update": check_docs_data_update,
    "docs-examples": check_docs_examples,
    "docs-known-limitations": check_docs_known_limitations,
    "docs-supported-functions": check_docs_supported_functions,
    "docs-troubleshooting": check_docs_troubleshooting,
    "docs-use-cases": check_docs_use_cases,
    "dynamic-devices": check_dynamic_devices,
    "entity-category": check_entity_category,
    "entity-device-class": check_entity_device_class,
    "entity-disabled-by-default": check_entity_disabled_by_default,
    "entity-translations": check_entity_translations,
    "exception-translations": check_exception_translations,
    "icon-translations": check_icon_translations,
    "reconfiguration-flow": check_reconfiguration_flow,
    "repair-issues": check_repair_issues,
    "stale-devices": check_stale_devices,
    "inject-websession": check_inject_websession,
    "strict-typing": check_strict_typing,
}

#: Done rules that no static test can tell, and where they are checked instead.
NOT_CHECKABLE = {
    "config-flow-test-coverage": (
        "a coverage figure of tests/test_config_flow.py alone: "
        "pytest tests/test_config_flow.py --cov=custom_components.alice_voice"
    ),
    "docs-supported-devices": "exempt; a statement about the README's introduction",
    "async-dependency": "a property of the libraries (ollama, openai, websockets are asyncio)",
}


@pytest.mark.parametrize("rule", sorted(CHECKS))
def test_done_rule_holds(rule: str) -> None:
    """A rule marked done holds; a todo is skipped (its check says what done will need)."""
    if status(rule) != "done":
        pytest.skip(
            f"{rule} is {status(rule)}: {STATUS[rule].get('comment', '').split(chr(10))[0]}"
        )
    CHECKS[rule]()
