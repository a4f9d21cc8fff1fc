"""script/validate's code checks: what the code names exists in the translations and services.yaml.

Every check returns a list of problems, ``path:line: what is wrong``; an empty
list is a pass. The code is read with :mod:`code_scan` (``ast``, no imports).

* exception messages: ``AliceVoiceTurnError("key")``, ``ToolError("key")``,
  ``async_localized_message(hass, language, "key")`` and every call with
  ``translation_domain=`` + ``translation_key=`` need ``exceptions.<key>.message``,
  and a message's ``{placeholders}`` must all be given where the call gives a
  dict literal (or none);
* ``ir.async_create_issue(..., translation_key=)`` needs ``issues.<key>``;
* entities of every platform in ``PLATFORMS``: ``entity.<platform>.<key>.name``,
  the states of their options (ENUM sensors, selects), their event types, and
  the placeholders of their names;
* selectors with a ``translation_key``: ``selector.<key>.options.<option>``;
* config and subentry flows: their forms' steps, abort reasons, errors and
  progress actions;
* services: what the code registers is in ``services.yaml``, with the same
  fields, named in the translations and given an icon.
"""

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import re
from typing import Any

from code_scan import (
    ClassRef,
    Ctx,
    DictValue,
    External,
    FuncRef,
    Items,
    Made,
    Module,
    Node,
    Resolver,
    UnresolvedError,
    callee_name,
    keyword,
    local_nodes,
    walk_calls,
)
import yaml

#: Alice's exceptions whose first argument is a message key (``exceptions.<key>.message``).
MESSAGE_ERRORS = ("AliceVoiceTurnError", "ToolError")
#: Functions that take a message key: name -> (position of the key, of the placeholders).
MESSAGE_FUNCTIONS = {"async_localized_message": (2, 3)}
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*[,}]")

type Translations = Mapping[str, Any]


def placeholders(text: str) -> set[str]:
    """The ``{placeholders}`` of a translated string."""
    return set(PLACEHOLDER.findall(text))


def lookup(strings: Translations, path: str) -> Any:
    """A value of the translations by dotted path, or None."""
    node: Any = strings
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass
class Scan:
    """The parsed package and its data files."""

    root: Path
    package: Path
    resolver: Resolver
    translations: dict[str, Translations]  # language -> strings

    @classmethod
    def load(cls, root: Path, domain: str) -> Scan:
        """Parse the package and load its translations."""
        package = root / "custom_components" / domain
        translations = {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((package / "translations").glob("*.json"))
        }
        return cls(root, package, Resolver(package, root), translations)

    def need(self, path: str, where: str, problems: list[str], what: str = "") -> None:
        """Every language must have ``path``."""
        if not self.translations:
            problems.append(f"{where}: there are no translations/*.json")
        for language, strings in self.translations.items():
            if lookup(strings, path) is None:
                suffix = f" ({what})" if what else ""
                problems.append(f"{where}: translations/{language}.json lacks {path}{suffix}")


# --- exception messages and issues ----------------------------------------------------------


def message_call(scan: Scan, module: Module, call: ast.Call) -> tuple[str, ast.expr, Any] | None:
    """(section, key expression, placeholders expression) if the call names a message."""
    resolver = scan.resolver
    name = callee_name(call)
    direct = isinstance(call.func, ast.Name)
    if (
        direct
        and name in MESSAGE_ERRORS
        and isinstance(resolver.lookup_global(module, name), ClassRef)
    ):
        key = keyword(call, "key", 0)
        return ("exceptions", key, keyword(call, "placeholders", 1)) if key else None
    if (
        direct
        and name in MESSAGE_FUNCTIONS
        and isinstance(resolver.lookup_global(module, name), FuncRef)
    ):
        key_at, placeholders_at = MESSAGE_FUNCTIONS[name]
        key = keyword(call, "key", key_at)
        placeholders_expr = keyword(call, "placeholders", placeholders_at)
        return ("exceptions", key, placeholders_expr) if key else None
    kwargs = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    if "translation_key" in kwargs and name == "async_create_issue":
        return ("issues", kwargs["translation_key"], kwargs.get("translation_placeholders"))
    if "translation_key" in kwargs and "translation_domain" in kwargs:
        return ("exceptions", kwargs["translation_key"], kwargs.get("translation_placeholders"))
    return None


def check_messages(scan: Scan, used: set[str] | None = None) -> list[str]:
    """Every message key the code uses exists, with the placeholders the call gives."""
    problems: list[str] = []
    resolver = scan.resolver
    for module, call in walk_calls(resolver):
        found = message_call(scan, module, call)
        if found is None:
            continue
        section, key_expr, placeholders_expr = found
        where = module.line(call)
        for ctx in resolver.contexts(call, module):
            try:
                keys = resolver.strings(key_expr, ctx)
                given = (
                    set()
                    if placeholders_expr is None
                    else resolver.dict_keys(placeholders_expr, ctx)
                )
            except UnresolvedError as err:
                problems.append(str(err))
                continue
            for key in keys:
                if used is not None:
                    used.add(f"{section}.{key}")
                path = f"{section}.{key}.message" if section == "exceptions" else f"{section}.{key}"
                scan.need(path, where, problems)
                if section == "issues":
                    scan.need(f"issues.{key}.title", where, problems)
                    continue
                if given is None:
                    continue  # placeholders passed on from elsewhere: checked where they start
                for language, strings in scan.translations.items():
                    text = lookup(strings, path)
                    if isinstance(text, str) and (missing := placeholders(text) - given):
                        problems.append(
                            f"{where}: {language}.json {path} uses "
                            f"{{{', '.join(sorted(missing))}}}, which the call does not give"
                        )
    return sorted(set(problems))


# --- entities ----------------------------------------------------------------------------


def platforms(scan: Scan) -> list[str]:
    """The platforms ``PLATFORMS`` in ``__init__.py`` lists (``Platform.SENSOR`` -> sensor)."""
    root = scan.resolver.modules[""]
    values = root.assigns.get("PLATFORMS")
    if not values or not isinstance(values[0], ast.Tuple | ast.List):
        return []
    return [
        element.attr.lower() for element in values[0].elts if isinstance(element, ast.Attribute)
    ]


def is_entity(resolver: Resolver, cls: ClassRef) -> bool:
    """Whether a class is an entity (it, or a package base, derives from an ``*Entity``)."""
    for owner in resolver.lineage(cls):
        for base in owner.node.bases:
            name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
            if name.endswith("Entity") or (
                isinstance(base, ast.Subscript) and ast.unparse(base.value).endswith("Entity")
            ):
                return True
    return False


def constructed(module: Module, cls: ast.ClassDef) -> bool:
    """Whether the module builds the class (it is concrete, not a base)."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == cls.name
        for node in ast.walk(module.tree)
    )


def init_contexts(resolver: Resolver, cls: ClassRef) -> dict[int, list[Ctx]]:
    """For each ``__init__`` a concrete class runs: its parameters, as this class's chain binds them.

    The class's constructor calls bind the first ``__init__``; each
    ``super().__init__(...)`` or ``Base.__init__(self, ...)`` in it binds the
    next one, with arguments evaluated where they are written.
    """
    result: dict[int, list[Ctx]] = {}
    first = resolver.init_of(cls)
    if first is None:
        return result
    sites = [
        site
        for site in resolver.calls_to(first.node)
        if isinstance(site.call.func, ast.Name) and site.call.func.id == cls.node.name
    ]
    todo: list[tuple[FuncRef, list[Ctx]]] = [
        (first, [resolver.bindings_for(first.node, site, Ctx(first.module)) for site in sites])
    ]
    while todo:
        init, contexts = todo.pop()
        if id(init.node) in result:
            continue
        result[id(init.node)] = contexts
        assert init.cls is not None
        owner = ClassRef(init.module, init.cls)
        for node in local_nodes(init.node):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"
            ):
                continue
            target = _init_target(resolver, owner, node)
            if target is None:
                continue
            site_skip = not isinstance(node.func.value, ast.Name)  # super() passes self itself
            bound: list[Ctx] = []
            for ctx in contexts:
                site = _Site(node, init.module, site_skip)
                bound.append(bind_from(resolver, target, site, ctx))
            todo.append((target, bound))
    return result


@dataclass(frozen=True)
class _Site:
    call: ast.Call
    module: Module
    skip_first: bool


def _init_target(resolver: Resolver, owner: ClassRef, call: ast.Call) -> FuncRef | None:
    func = call.func
    assert isinstance(func, ast.Attribute)
    if isinstance(func.value, ast.Call) and getattr(func.value.func, "id", "") == "super":
        for base in resolver.bases(owner):
            if (init := resolver.init_of(base)) is not None:
                return init
        return None
    if isinstance(func.value, ast.Name):
        value = resolver.lookup_global(owner.module, func.value.id)
        if isinstance(value, ClassRef):
            return resolver.init_of(value)
    return None


def bind_from(resolver: Resolver, target: FuncRef, site: _Site, caller: Ctx) -> Ctx:
    """The context of ``target`` with its parameters bound to the call's arguments in ``caller``."""
    func = target.node
    positional = [*func.args.posonlyargs, *func.args.args][1:]  # without self
    args = list(site.call.args)
    if not site.skip_first:
        args = args[1:]  # Base.__init__(self, ...)
    ctx = Ctx(target.module)
    for index, arg in enumerate(positional):
        if index < len(args) and not isinstance(args[index], ast.Starred):
            ctx = ctx.bind(func, arg.arg, [Node(args[index], caller)])
    for kw in site.call.keywords:
        if kw.arg:
            ctx = ctx.bind(func, kw.arg, [Node(kw.value, caller)])
    return ctx


def class_values(
    resolver: Resolver, cls: ClassRef, attr: str, contexts: dict[int, list[Ctx]]
) -> list[Any] | None:
    """Every value a concrete class gives ``attr`` (class body or ``self.attr =``); None if never."""
    values: list[Any] = []
    found = False
    for owner in resolver.lineage(cls):
        for stmt in owner.node.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
                    found = True
                    values += resolver.values(stmt.value, Ctx(owner.module))
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in local_nodes(stmt):
                    value = _assigned_to_self(node, attr)
                    if value is None:
                        continue
                    found = True
                    for ctx in contexts.get(id(stmt), [Ctx(owner.module)]):
                        values += resolver.values(value, ctx)
    return values if found else None


def _assigned_to_self(node: ast.AST, attr: str) -> ast.expr | None:
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr == attr
                and getattr(target.value, "id", "") == "self"
            ):
                return node.value
    return None


def option_strings(resolver: Resolver, values: list[Any], where: Module, node: ast.AST) -> set[str]:
    """The options in a list of values (strings, or SelectOptionDict(value=...))."""
    options: set[str] = set()
    for value in values:
        if isinstance(value, Items):
            options |= option_strings(
                resolver, resolver.elems(value.elements, node, where), where, node
            )
        elif isinstance(value, str):
            options.add(value)
        elif isinstance(value, Made) and (option := keyword(value.call, "value")) is not None:
            options.update(resolver.strings(option, value.ctx))
        elif isinstance(value, DictValue):
            for k, v in zip(value.keys, value.values, strict=True):
                if k is not None and resolver.strings(k.expr, k.ctx) == ["value"]:
                    options.update(resolver.strings(v.expr, v.ctx))
        else:
            raise UnresolvedError(where, node, f"an option that is a {type(value).__name__}")
    return options


def check_entities(scan: Scan, used: set[str] | None = None) -> list[str]:
    """Every entity of every platform has its name (and states, event types) translated."""
    problems: list[str] = []
    resolver = scan.resolver
    for platform in platforms(scan):
        module = resolver.modules.get(platform)
        if module is None:
            problems.append(
                f"__init__.py: PLATFORMS lists {platform} but there is no {platform}.py"
            )
            continue
        for cls_node in module.classes.values():
            cls = ClassRef(module, cls_node)
            if not is_entity(resolver, cls) or not constructed(module, cls_node):
                continue
            try:
                problems += _check_entity(scan, platform, cls, used)
            except UnresolvedError as err:
                problems.append(str(err))
    return sorted(set(problems))


def _check_entity(scan: Scan, platform: str, cls: ClassRef, used: set[str] | None) -> list[str]:
    resolver, problems = scan.resolver, list[str]()
    where = cls.module.line(cls.node)
    contexts = init_contexts(resolver, cls)
    keys_found = class_values(resolver, cls, "_attr_translation_key", contexts)
    if keys_found is None:
        names = class_values(resolver, cls, "_attr_name", contexts)
        if names is not None and not names:  # _attr_name = None: the device's main entity
            return []
        return [f"{where}: {cls.node.name} has neither a translation_key nor _attr_name = None"]
    keys = set(resolver.strings_of(keys_found, cls.module, cls.node))
    for key in sorted(keys):
        base = f"entity.{platform}.{key}"
        if used is not None:
            used.add(base)
        scan.need(f"{base}.name", where, problems, cls.node.name)
    # The placeholders of the name.
    given_values = class_values(resolver, cls, "_attr_translation_placeholders", contexts)
    given: set[str] = set()
    for value in given_values or []:
        if isinstance(value, DictValue):
            for k in value.keys:
                if k is not None:
                    given.update(resolver.strings(k.expr, k.ctx))
    for key in keys:
        for language, strings in scan.translations.items():
            name = lookup(strings, f"entity.{platform}.{key}.name")
            if isinstance(name, str) and (missing := placeholders(name) - given):
                problems.append(
                    f"{where}: {language}.json entity.{platform}.{key}.name uses "
                    f"{{{', '.join(sorted(missing))}}}, which {cls.node.name} does not set"
                )
    # Options (ENUM sensors, selects): each a translated state.
    options = class_values(resolver, cls, "_attr_options", contexts)
    if options is not None:
        for key in keys:
            for option in sorted(option_strings(resolver, options, cls.module, cls.node)):
                scan.need(f"entity.{platform}.{key}.state.{option}", where, problems)
    events = class_values(resolver, cls, "_attr_event_types", contexts)
    if events is not None:
        for key in keys:
            for event in sorted(option_strings(resolver, events, cls.module, cls.node)):
                path = f"entity.{platform}.{key}.state_attributes.event_type.state.{event}"
                scan.need(path, where, problems)
    # Entity descriptions: the key (or translation_key) names the entity; options are states.
    for description in class_values(resolver, cls, "entity_description", contexts) or []:
        if not isinstance(description, Made):
            continue
        key_expr = keyword(description.call, "translation_key") or keyword(description.call, "key")
        if key_expr is None:
            continue
        for key in resolver.strings(key_expr, description.ctx):
            if key not in keys:
                problems.append(
                    f"{description.ctx.module.line(description.call)}: description {key!r} is "
                    f"not a translation key of {cls.node.name} ({', '.join(sorted(keys))})"
                )
            if (options_expr := keyword(description.call, "options")) is not None:
                found = resolver.values(options_expr, description.ctx)
                for option in sorted(option_strings(resolver, found, cls.module, cls.node)):
                    scan.need(f"entity.{platform}.{key}.state.{option}", where, problems)
    return problems


# --- selectors and flows ---------------------------------------------------------------


def check_selectors(scan: Scan, used: set[str] | None = None) -> list[str]:
    """Selectors with a translation key: every option is translated."""
    problems: list[str] = []
    resolver = scan.resolver
    for module, call in walk_calls(resolver):
        if not callee_name(call).endswith("SelectorConfig"):
            continue
        key_expr = keyword(call, "translation_key")
        if key_expr is None:
            continue
        where = module.line(call)
        for ctx in resolver.contexts(call, module):
            try:
                keys = resolver.strings(key_expr, ctx)
                options_expr = keyword(call, "options")
                options = (
                    option_strings(resolver, resolver.values(options_expr, ctx), module, call)
                    if options_expr is not None
                    else set()
                )
            except UnresolvedError as err:
                problems.append(str(err))
                continue
            for key in keys:
                if used is not None:
                    used.add(f"selector.{key}")
                scan.need(f"selector.{key}.options", where, problems)
                for option in sorted(options):
                    scan.need(f"selector.{key}.options.{option}", where, problems)
    return sorted(set(problems))


FLOW_BASES = {"ConfigFlow": "config", "OptionsFlow": "options", "OptionsFlowWithReload": "options"}


def flows(scan: Scan) -> Iterator[tuple[str, ClassRef]]:
    """(translation prefix, flow class) of every config, options and subentry flow."""
    resolver = scan.resolver
    subentry_types: dict[str, str] = {}
    for module in resolver.modules.values():
        for cls_node in module.classes.values():
            for stmt in cls_node.body:
                if (
                    isinstance(stmt, ast.FunctionDef)
                    and stmt.name == "async_get_supported_subentry_types"
                ):
                    for node in local_nodes(stmt):
                        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
                            for k, v in zip(node.value.keys, node.value.values, strict=True):
                                if k is not None and isinstance(v, ast.Name):
                                    (kind,) = resolver.strings(k, Ctx(module))
                                    subentry_types[v.id] = kind
    for module in resolver.modules.values():
        for cls_node in module.classes.values():
            bases = {getattr(base, "id", getattr(base, "attr", "")) for base in cls_node.bases}
            for base, prefix in FLOW_BASES.items():
                if base in bases:
                    yield prefix, ClassRef(module, cls_node)
            if "ConfigSubentryFlow" in bases:
                kind = subentry_types.get(cls_node.name, "?")
                yield f"config_subentries.{kind}", ClassRef(module, cls_node)


IMPLICIT_ABORTS = {
    "_async_abort_entries_match": "already_configured",
    "_abort_if_unique_id_configured": "already_configured",
}


def check_flows(scan: Scan) -> list[str]:
    """Every form step, abort reason, error and progress action of the flows is translated."""
    problems: list[str] = []
    resolver = scan.resolver
    error_modules: dict[str, list[str]] = {}
    for prefix, cls in flows(scan):
        module, ctx = cls.module, Ctx(cls.module)
        where_cls = module.line(cls.node)
        methods = [
            s for s in cls.node.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        steps = {m.name for m in methods} | {  # and aliases: async_step_user = async_step_x
            t.id
            for s in cls.node.body
            if isinstance(s, ast.Assign)
            for t in s.targets
            if isinstance(t, ast.Name)
        }
        if prefix.startswith("config_subentries."):
            scan.need(f"{prefix}.initiate_flow.user", where_cls, problems)
            scan.need(f"{prefix}.entry_type", where_cls, problems)
            if "async_step_reconfigure" in steps:
                scan.need(f"{prefix}.initiate_flow.reconfigure", where_cls, problems)
        for method in methods:
            for node in local_nodes(method):
                if not isinstance(node, ast.Call):
                    continue
                name, where = callee_name(node), module.line(node)
                try:
                    if name == "async_show_form":
                        step = keyword(node, "step_id")
                        for step_id in resolver.strings(step, ctx) if step else ["init"]:
                            scan.need(f"{prefix}.step.{step_id}", where, problems)
                        if keyword(node, "errors") is not None:
                            error_modules.setdefault(module.name, []).append(prefix)
                    elif name == "async_abort":
                        reason = keyword(node, "reason")
                        for value in resolver.strings(reason, ctx) if reason else []:
                            scan.need(f"{prefix}.abort.{value}", where, problems)
                    elif name == "async_show_progress":
                        action = keyword(node, "progress_action")
                        for value in resolver.strings(action, ctx) if action else []:
                            scan.need(f"{prefix}.progress.{value}", where, problems)
                    elif name in IMPLICIT_ABORTS:
                        scan.need(f"{prefix}.abort.{IMPLICIT_ABORTS[name]}", where, problems)
                    elif name in {"async_update_reload_and_abort", "async_update_and_abort"}:
                        reason = keyword(node, "reason")
                        if reason is not None:
                            reasons = resolver.strings(reason, ctx)
                        elif method.name.startswith("async_step_reauth"):
                            reasons = ["reauth_successful"]
                        else:
                            reasons = ["reconfigure_successful"]
                        for value in reasons:
                            scan.need(f"{prefix}.abort.{value}", where, problems)
                except UnresolvedError as err:
                    problems.append(str(err))
    # Form errors: every error string a flow module sets, in each flow whose forms show errors.
    for module_name, prefixes in error_modules.items():
        module = resolver.modules[module_name]
        for where, error in _form_errors(resolver, module):
            for prefix in sorted(set(prefixes)):
                scan.need(f"{prefix}.error.{error}", where, problems)
    return sorted(set(problems))


def _form_errors(resolver: Resolver, module: Module) -> Iterator[tuple[str, str]]:
    """(where, error) for ``errors[...] = "x"`` and ``errors = {"base": "x"}`` in a module."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and getattr(target.value, "id", "") == "errors":
                for error in resolver.strings(node.value, Ctx(module)):
                    yield module.line(node), error
            elif getattr(target, "id", "") == "errors" and isinstance(node.value, ast.Dict):
                for value in node.value.values:
                    for error in resolver.strings(value, Ctx(module)):
                        yield module.line(node), error


# --- services ------------------------------------------------------------------------------

#: Registration functions: name -> (position of the service name, of the schema).
REGISTRATIONS = {
    "async_register": (1, 3),  # hass.services.async_register(DOMAIN, name, handler, schema)
    "async_register_admin_service": (2, 4),  # (hass, DOMAIN, name, handler, schema)
    "async_register_platform_entity_service": (2, None),  # (hass, DOMAIN, name, schema=...)
    "async_register_entity_service": (0, 1),  # platform.async_register_entity_service(name, ...)
}


def registered_services(scan: Scan) -> dict[str, tuple[str, set[str]]]:
    """The services the code registers: name -> (where, the fields of its schema)."""
    resolver, services = scan.resolver, dict[str, tuple[str, set[str]]]()
    for module, call in walk_calls(resolver):
        name = callee_name(call)
        if name not in REGISTRATIONS:
            continue
        if name == "async_register" and not (
            isinstance(call.func, ast.Attribute) and callee_name_of(call.func.value) == "services"
        ):
            continue
        name_at, schema_at = REGISTRATIONS[name]
        service_expr = keyword(call, "service", name_at)
        schema_expr = keyword(call, "schema", schema_at)
        if service_expr is None:
            raise UnresolvedError(module, call, "a service registration without a name")
        ctx = Ctx(module)
        fields = schema_fields(resolver, schema_expr, ctx) if schema_expr is not None else set()
        for service in resolver.strings(service_expr, ctx):
            services[service] = (module.line(call), fields)
    return services


def callee_name_of(expr: ast.expr) -> str:
    """The last name of an expression (``hass.services`` -> ``services``)."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return getattr(expr, "id", "")


SCHEMA_WRAPPERS = {"Schema", "make_entity_service_schema", "All"}
FIELD_MARKERS = {"Required", "Optional", "Exclusive", "Inclusive"}
TARGET_FIELDS = {"entity_id", "device_id", "area_id", "floor_id", "label_id"}


def schema_fields(resolver: Resolver, expr: ast.expr, ctx: Ctx) -> set[str]:
    """The field names of a service schema (``probatio.Schema({Required("x"): ...})``)."""
    fields: set[str] = set()
    for value in resolver.values(expr, ctx):
        if isinstance(value, Made) and callee_name(value.call) in SCHEMA_WRAPPERS:
            inner = keyword(value.call, "schema", 0)
            if inner is None:
                raise UnresolvedError(ctx.module, value.call, "a schema without its dict")
            fields |= schema_fields(resolver, inner, value.ctx)
        elif isinstance(value, DictValue):
            for key in value.keys:
                if key is None:
                    raise UnresolvedError(ctx.module, expr, "** in a schema")
                for field_value in resolver.values(key.expr, key.ctx):
                    if isinstance(field_value, str):
                        fields.add(field_value)
                    elif (
                        isinstance(field_value, Made)
                        and callee_name(field_value.call) in FIELD_MARKERS
                        and field_value.call.args
                    ):
                        fields.update(resolver.strings(field_value.call.args[0], field_value.ctx))
                    else:
                        raise UnresolvedError(ctx.module, key.expr, "a schema key not a field name")
        elif isinstance(value, External):
            raise UnresolvedError(ctx.module, expr, f"a schema from outside ({value.name})")
        else:
            raise UnresolvedError(ctx.module, expr, f"a schema that is a {type(value).__name__}")
    return fields - TARGET_FIELDS


def yaml_fields(service: Mapping[str, Any]) -> set[str]:
    """The fields of a services.yaml entry (sections flattened)."""
    fields: set[str] = set()
    for name, spec in (service.get("fields") or {}).items():
        if isinstance(spec, dict) and "fields" in spec:
            fields |= set(spec["fields"])
        else:
            fields.add(name)
    return fields


def check_services(scan: Scan) -> list[str]:
    """The registered services match services.yaml; names and icons exist."""
    problems: list[str] = []
    try:
        registered = registered_services(scan)
    except UnresolvedError as err:
        return [str(err)]
    yaml_path = scan.package / "services.yaml"
    described: dict[str, Any] = {}
    if yaml_path.is_file():
        described = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    elif registered:
        return [f"{yaml_path.relative_to(scan.root)}: missing, but the code registers services"]
    icons_path = scan.package / "icons.json"
    icons = json.loads(icons_path.read_text(encoding="utf-8")) if icons_path.is_file() else {}
    yaml_rel = str(yaml_path.relative_to(scan.root))
    problems.extend(
        f"{yaml_rel}: {service} is described but the code never registers it"
        for service in sorted(set(described) - set(registered))
    )
    for service, (where, fields) in sorted(registered.items()):
        if service not in described:
            problems.append(f"{where}: service {service} is not in services.yaml")
            continue
        in_yaml = yaml_fields(described[service] or {})
        problems.extend(
            f"{yaml_rel}: {service} lacks the field {missing} (its schema has it)"
            for missing in sorted(fields - in_yaml)
        )
        problems.extend(
            f"{yaml_rel}: {service} has a field {extra} its schema does not take"
            for extra in sorted(in_yaml - fields)
        )
        scan.need(f"services.{service}.name", where, problems)
        scan.need(f"services.{service}.description", where, problems)
        for field_name in sorted(in_yaml & fields):
            scan.need(f"services.{service}.fields.{field_name}.name", where, problems)
            scan.need(f"services.{service}.fields.{field_name}.description", where, problems)
        icon = lookup(icons, f"services.{service}")
        if not (isinstance(icon, str) or (isinstance(icon, dict) and "service" in icon)):
            problems.append(f"icons.json: services.{service} has no icon")
    return sorted(set(problems))


def check_code(root: Path, domain: str, notes: list[str] | None = None) -> list[str]:
    """All the code checks; ``notes`` gets the translations nothing in the code uses."""
    try:
        scan = Scan.load(root, domain)
    except SyntaxError as err:
        return [f"{err.filename}:{err.lineno}: {err.msg}"]
    used: set[str] = set()
    problems = [
        *check_messages(scan, used),
        *check_entities(scan, used),
        *check_selectors(scan, used),
        *check_flows(scan),
        *check_services(scan),
    ]
    if notes is not None and "en" in scan.translations:
        en = scan.translations["en"]
        for section in ("exceptions", "issues", "selector"):
            for key in sorted(en.get(section, {})):
                if f"{section}.{key}" not in used:
                    notes.append(f"{section}.{key} is in en.json but no code uses it")
        for platform, entities in sorted(en.get("entity", {}).items()):
            for key in sorted(entities):
                if f"entity.{platform}.{key}" not in used:
                    notes.append(f"entity.{platform}.{key} is in en.json but no entity uses it")
    return problems
