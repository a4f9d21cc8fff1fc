"""What Alice's code asks of its translations and services.yaml, found statically.

``script/validate`` uses this module to compare the code with the data files
without importing Home Assistant or the integration: it parses every module of
``custom_components/alice_voice`` with :mod:`ast` and follows the expressions
that name a translation key, back to the literals they come from.

The follower (:class:`Resolver`) understands the patterns the code uses, and
nothing more: literals and f-strings, module constants (also imported ones),
enum members, dicts of keys (``KEYS[x]``, ``KEYS.get(x, "default")``),
local variables, function parameters (through every call of the function, or
the one call being followed), attributes set in ``__init__`` (``err.key``),
keyword arguments of a constructor (``description.key``), the values a
function returns, and comprehensions over enums and tuples. An expression it
cannot follow is an error, never a silent pass: write the key so it can.
"""

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import cast

type Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda

PACKAGE_PREFIX = "custom_components.alice_voice"
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
MAX_DEPTH = 60


class UnresolvedError(Exception):
    """An expression the resolver cannot follow back to its values."""

    def __init__(self, module: Module, node: ast.AST, why: str) -> None:
        """Say where, and why."""
        line = getattr(node, "lineno", 0)
        text = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
        super().__init__(f"{module.rel}:{line}: cannot follow `{text}` statically ({why})")


# --- the package ------------------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Module:
    """One parsed module of the integration."""

    name: str  # dotted, relative to the package: "" for __init__, "tools.mail"
    rel: str  # the path shown in messages
    tree: ast.Module
    is_package: bool
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    assigns: dict[str, list[ast.expr]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index parents, imports and the module-level names."""
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        for stmt in self.tree.body:
            self._index(stmt)

    def _index(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.ImportFrom):
            base = self._absolute(stmt)
            for alias in stmt.names:
                self.imports[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name.startswith(PACKAGE_PREFIX):
                    imported = alias.name.removeprefix(PACKAGE_PREFIX).strip(".")
                else:
                    imported = "?" + alias.name
                self.imports[alias.asname or alias.name.split(".")[0]] = (imported, None)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    self.assigns.setdefault(target.id, []).append(stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            if isinstance(stmt.target, ast.Name):
                self.assigns.setdefault(stmt.target.id, []).append(stmt.value)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            self.functions[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            self.classes[stmt.name] = stmt
        elif isinstance(stmt, ast.If | ast.Try):
            for inner in [*stmt.body, *getattr(stmt, "orelse", [])]:
                self._index(inner)

    def _absolute(self, stmt: ast.ImportFrom) -> str:
        """The imported module, relative to the package; "?" for anything outside it."""
        if stmt.level == 0:
            module = stmt.module or ""
            if module == PACKAGE_PREFIX or module.startswith(PACKAGE_PREFIX + "."):
                return module.removeprefix(PACKAGE_PREFIX).strip(".")
            return "?" + module
        parts = self.name.split(".") if self.name else []
        if not self.is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (stmt.level - 1)] if stmt.level > 1 else parts
        return ".".join([*parts, *(stmt.module.split(".") if stmt.module else [])])

    def __repr__(self) -> str:
        """The module's path (the parsed tree is too large to show)."""
        return f"Module({self.rel})"

    def line(self, node: ast.AST) -> str:
        """``path:line`` of a node, for messages."""
        return f"{self.rel}:{getattr(node, 'lineno', 0)}"

    def scope_of(self, node: ast.AST) -> Scope | None:
        """The function (or lambda) a node is in."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, SCOPES):
            current = self.parents.get(current)
        return current

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        """The class a node is in (through its methods)."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, ast.ClassDef):
            current = self.parents.get(current)
        return current


def local_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without those of nested functions and classes."""
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (*SCOPES, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def params_of(func: Scope) -> list[ast.arg]:
    """A function's parameters, in order (positional first, then keyword-only)."""
    args = func.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def param_default(func: Scope, name: str) -> ast.expr | None:
    """The default value of a parameter, if it has one."""
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    for arg, default in zip(
        positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
    ):
        if arg.arg == name:
            return default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if arg.arg == name:
            return kw_default
    return None


# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Ctx:
    """Where an expression is evaluated: its module, and what parameters are bound to."""

    module: Module
    bindings: Mapping[tuple[int, str], tuple[Elem, ...]] = field(default_factory=dict)

    def bind(self, owner: ast.AST, name: str, elems: Sequence[Elem]) -> Ctx:
        """This context, with ``name`` of ``owner`` (a function, a comprehension) bound."""
        return Ctx(self.module, {**self.bindings, (id(owner), name): tuple(elems)})


@dataclass(frozen=True, eq=False)
class Node:
    """An expression not evaluated yet, with its context."""

    expr: ast.expr
    ctx: Ctx


@dataclass(frozen=True, eq=False)
class ClassRef:
    """A class of the package."""

    module: Module
    node: ast.ClassDef


@dataclass(frozen=True, eq=False)
class FuncRef:
    """A function of the package (a method when ``cls`` is set)."""

    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: ast.ClassDef | None = None


@dataclass(frozen=True, eq=False)
class Instance:
    """An object of a package class, built somewhere we do not know."""

    cls: ClassRef


@dataclass(frozen=True, eq=False)
class Made:
    """An object built by one call (of a package class, or of anything outside)."""

    call: ast.Call
    ctx: Ctx
    cls: ClassRef | None


@dataclass(frozen=True, eq=False)
class Items:
    """A tuple, list or set: its elements."""

    elements: tuple[Elem, ...]


@dataclass(frozen=True, eq=False)
class DictValue:
    """A dict literal: its keys and values."""

    keys: tuple[Node | None, ...]
    values: tuple[Node, ...]
    ctx: Ctx


@dataclass(frozen=True, eq=False)
class ModuleRef:
    """A module of the package."""

    module: Module


@dataclass(frozen=True, eq=False)
class External:
    """Something from outside the package (Home Assistant, the standard library)."""

    name: str


type Value = str | ClassRef | FuncRef | Instance | Made | Items | DictValue | ModuleRef | External
type Elem = Node | Value


@dataclass(frozen=True)
class CallSite:
    """A call of a package function: the arguments its parameters get."""

    call: ast.Call
    module: Module
    skip_first: bool  # the call passes ``self`` implicitly (a constructor, super(), self.m())


# --- the resolver ---------------------------------------------------------------------------


class Resolver:
    """Follows expressions of the package back to their values."""

    def __init__(self, package_dir: Path, rel_to: Path) -> None:
        """Parse every module under ``package_dir``."""
        self.modules: dict[str, Module] = {}
        for path in sorted(package_dir.rglob("*.py")):
            parts = list(path.relative_to(package_dir).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            name = ".".join(parts)
            self.modules[name] = Module(name, str(path.relative_to(rel_to)), tree, is_package)
        self._calls: dict[int, list[CallSite]] | None = None
        self._stack: set[tuple[int, int]] = set()
        self._depth = 0

    # --- names ------------------------------------------------------------------------

    def module_name(self, module: Module, name: str, node: ast.AST) -> list[Value]:
        """A module-level name: an assignment, a function, a class or an import."""
        if name in module.assigns:
            return self.elems([Node(v, Ctx(module)) for v in module.assigns[name]], node, module)
        if name in module.functions:
            return [FuncRef(module, module.functions[name])]
        if name in module.classes:
            return [ClassRef(module, module.classes[name])]
        if name in module.imports:
            target, attr = module.imports[name]
            if target.startswith("?"):
                return [External(target[1:] if attr is None else f"{target[1:]}.{attr}")]
            if attr is None:
                return [ModuleRef(self.modules[target])]
            if f"{target}.{attr}".strip(".") in self.modules:
                return [ModuleRef(self.modules[f"{target}.{attr}".strip(".")])]
            if target not in self.modules:
                raise UnresolvedError(module, node, f"no module {target!r} in the package")
            return self.module_name(self.modules[target], attr, node)
        if name in {"str", "list", "tuple", "set", "frozenset", "sorted", "dict", "super"}:
            return [External(name)]
        raise UnresolvedError(module, node, f"{name!r} is not defined at module level")

    def lookup_global(self, module: Module, name: str) -> Value | None:
        """A module-level function or class, by name (imports followed), else None."""
        try:
            values = self.module_name(module, name, module.tree)
        except UnresolvedError:
            return None
        return values[0] if len(values) == 1 else None

    def name(self, expr: ast.Name, ctx: Ctx) -> list[Value]:
        """The values a name can have where it is used."""
        module, name = ctx.module, expr.id
        current: ast.AST | None = module.parents.get(expr)
        while current is not None:
            if isinstance(current, ast.ExceptHandler) and current.name == name:
                return self.assigned([current], ctx, expr)  # the handler the name is used in
            if isinstance(current, COMPREHENSIONS):
                for generator in current.generators:
                    if name in _target_names(generator.target):
                        if (id(current), name) in ctx.bindings:
                            return self.elems(ctx.bindings[id(current), name], expr, module)
                        if not isinstance(generator.target, ast.Name):
                            raise UnresolvedError(module, expr, "unpacking in a comprehension")
                        return self.iterate(Node(generator.iter, ctx), expr, module)
            elif isinstance(current, SCOPES):
                if (id(current), name) in ctx.bindings:
                    return self.elems(ctx.bindings[id(current), name], expr, module)
                assigned = _local_assignments(current, name)
                if assigned:
                    return self.assigned(assigned, ctx, expr)
                if name in {arg.arg for arg in params_of(current)}:
                    return self.parameter(current, name, ctx, expr)
            current = module.parents.get(current)
        return self.module_name(module, name, expr)

    def assigned(self, assigned: list[ast.AST], ctx: Ctx, expr: ast.Name) -> list[Value]:
        """The values of a local variable: every assignment to it."""
        module, values = ctx.module, list[Value]()
        for node in assigned:
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr):
                assert node.value is not None
                values += self.values(node.value, ctx)
            elif isinstance(node, ast.For | ast.AsyncFor):
                values += self.iterate(Node(node.iter, ctx), expr, module)
            elif isinstance(node, ast.ExceptHandler) and node.type is not None:
                types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                for type_expr in types:
                    for value in self.values(type_expr, ctx):
                        if isinstance(value, ClassRef):
                            values.append(Instance(value))
                        else:
                            values.append(External(f"instance of {ast.unparse(type_expr)}"))
            else:
                raise UnresolvedError(module, expr, f"assigned by {type(node).__name__}")
        return values

    def parameter(self, func: Scope, name: str, ctx: Ctx, expr: ast.AST) -> list[Value]:
        """A parameter: what every call passes (else its annotation's class)."""
        module = ctx.module
        if isinstance(func, ast.Lambda):
            raise UnresolvedError(module, expr, "a lambda's parameter")
        sites = self.calls_to(func)
        if sites:
            values: list[Value] = []
            for site in sites:
                values += self.elems(self.argument(func, name, site), expr, module)
            return values
        annotation = next(arg.annotation for arg in params_of(func) if arg.arg == name)
        if annotation is not None:
            try:
                classes = self.values(annotation, Ctx(module))
            except UnresolvedError:
                classes = []
            if classes and all(isinstance(cls, ClassRef) for cls in classes):
                return [Instance(cast("ClassRef", cls)) for cls in classes]
        raise UnresolvedError(module, expr, f"parameter {name!r} of {func.name}() is never called")

    def argument(self, func: Scope, name: str, site: CallSite) -> list[Elem]:
        """What one call passes for the parameter ``name``."""
        call, module = site.call, site.module
        positional = [*func.args.posonlyargs, *func.args.args]
        if site.skip_first:
            positional = positional[1:]
        caller = Ctx(module)
        for keyword in call.keywords:
            if keyword.arg == name:
                return [Node(keyword.value, caller)]
        for index, arg in enumerate(positional):
            if arg.arg == name and index < len(call.args):
                if any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
                    raise UnresolvedError(module, call, "*args in the call")
                return [Node(call.args[index], caller)]
        if any(keyword.arg is None for keyword in call.keywords):
            raise UnresolvedError(module, call, "**kwargs in the call")
        default = param_default(func, name)
        if default is None:
            raise UnresolvedError(module, call, f"no argument for {name!r}")
        owner = self._module_of(func)
        return [Node(default, Ctx(owner))]

    def bindings_for(self, func: Scope, site: CallSite, ctx: Ctx) -> Ctx:
        """``ctx`` with every parameter of ``func`` bound to what ``site`` passes."""
        bound = ctx
        for arg in params_of(func):
            if arg.arg in {"self", "cls"}:
                continue
            try:
                bound = bound.bind(func, arg.arg, self.argument(func, arg.arg, site))
            except UnresolvedError:
                continue  # not passed (and no default): resolving it fails there
        return bound

    # --- calls -----------------------------------------------------------------------

    def _module_of(self, node: ast.AST) -> Module:
        for module in self.modules.values():
            if node in module.parents or node is module.tree:
                return module
        raise LookupError(node)

    def calls_to(self, func: Scope) -> list[CallSite]:
        """Every call of a package function (constructors and super() for ``__init__``)."""
        if self._calls is None:
            self._calls = {}
            for module in self.modules.values():
                for node in ast.walk(module.tree):
                    if isinstance(node, ast.Call):
                        for target, skip in self._targets(module, node):
                            self._calls.setdefault(id(target), []).append(
                                CallSite(node, module, skip)
                            )
        return self._calls.get(id(func), [])

    def _targets(
        self, module: Module, call: ast.Call
    ) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
        func = call.func
        if isinstance(func, ast.Name):
            value = self.lookup_global(module, func.id)
            if isinstance(value, FuncRef):
                yield value.node, False
            elif isinstance(value, ClassRef) and (init := self.init_of(value)) is not None:
                yield init.node, True
        elif isinstance(func, ast.Attribute):
            owner = module.class_of(call)
            if (
                func.attr == "__init__"
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id == "super"
                and owner is not None
            ):
                for base in self.bases(ClassRef(module, owner)):
                    if (init := self.init_of(base)) is not None:
                        yield init.node, True
                        break
            elif func.attr == "__init__" and isinstance(func.value, ast.Name):
                value = self.lookup_global(module, func.value.id)
                if isinstance(value, ClassRef) and (init := self.init_of(value)) is not None:
                    yield init.node, True  # Base.__init__(self, ...): self is the first argument
            elif isinstance(func.value, ast.Name) and func.value.id == "self" and owner:
                method = self.method(ClassRef(module, owner), func.attr)
                if method is not None:
                    yield method.node, True

    def bases(self, cls: ClassRef) -> list[ClassRef]:
        """The package classes a class derives from, in order (not itself)."""
        found: list[ClassRef] = []
        for base in cls.node.bases:
            if isinstance(base, ast.Name):
                value = self.lookup_global(cls.module, base.id)
                if isinstance(value, ClassRef):
                    found.append(value)
        return found

    def lineage(self, cls: ClassRef) -> list[ClassRef]:
        """The class and its package bases, depth first (a package-only MRO)."""
        order = [cls]
        for base in self.bases(cls):
            order += [c for c in self.lineage(base) if all(c.node is not o.node for o in order)]
        return order

    def method(self, cls: ClassRef, name: str) -> FuncRef | None:
        """A method of a class or of its package bases."""
        for owner in self.lineage(cls):
            for stmt in owner.node.body:
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == name:
                    return FuncRef(owner.module, stmt, owner.node)
        return None

    def init_of(self, cls: ClassRef) -> FuncRef | None:
        """The ``__init__`` a class's constructor runs (its own or a package base's)."""
        return self.method(cls, "__init__")

    def call(self, expr: ast.Call, ctx: Ctx) -> list[Value]:
        """The values a call can return."""
        module, func = ctx.module, expr.func
        if isinstance(func, ast.Attribute):
            if func.attr == "get" and expr.args:
                values: list[Value] = []
                for owner in self.values(func.value, ctx):
                    if not isinstance(owner, DictValue):
                        raise UnresolvedError(
                            module, expr, ".get() of something not a dict literal"
                        )
                    values += self.elems(owner.values, expr, module)
                if len(expr.args) > 1:
                    values += self.values(expr.args[1], ctx)
                return values
            if func.attr in {"lower", "upper", "strip", "title"} and not expr.args:
                return [
                    getattr(value, func.attr)() if isinstance(value, str) else value
                    for value in self.values(func.value, ctx)
                ]
        callees = self.values(func, ctx)
        values = []
        for callee in callees:
            if isinstance(callee, External) and callee.name in {
                "list",
                "tuple",
                "set",
                "frozenset",
                "sorted",
                "str",
            }:
                if len(expr.args) != 1:
                    raise UnresolvedError(module, expr, f"{callee.name}() of {len(expr.args)} args")
                values += self.values(expr.args[0], ctx)
            elif isinstance(callee, FuncRef) and callee.cls is None:
                site = CallSite(expr, module, skip_first=False)
                bound = self.bindings_for(callee.node, site, Ctx(callee.module))
                returns = [
                    node.value
                    for node in local_nodes(callee.node)
                    if isinstance(node, ast.Return) and node.value is not None
                ]
                if not returns:
                    raise UnresolvedError(module, expr, f"{callee.node.name}() returns nothing")
                for returned in returns:
                    values += self.values(returned, bound)
            elif isinstance(callee, ClassRef):
                values.append(Made(expr, ctx, callee))
            elif isinstance(callee, External):
                values.append(Made(expr, ctx, None))
            else:
                raise UnresolvedError(module, expr, "a call of something not followed")
        return values

    # --- attributes ------------------------------------------------------------------

    def attribute(self, expr: ast.Attribute, ctx: Ctx) -> list[Value]:
        """The values of ``owner.attr``."""
        module, attr, values = ctx.module, expr.attr, list[Value]()
        if (
            isinstance(expr.value, ast.Name)
            and expr.value.id == "self"
            and (owner := module.class_of(expr)) is not None
        ):
            owners: list[Value] = [Instance(ClassRef(module, owner))]
        else:
            owners = self.values(expr.value, ctx)
        for owner_value in owners:
            if isinstance(owner_value, str) and attr == "value":
                values.append(owner_value)  # a StrEnum member's value
            elif isinstance(owner_value, ClassRef):
                values += self.class_attribute(owner_value, attr, expr, module)
            elif isinstance(owner_value, Instance):
                values += self.instance_attribute(owner_value.cls, attr, expr, None, module)
            elif isinstance(owner_value, Made):
                values += self.made_attribute(owner_value, attr, expr, module)
            elif isinstance(owner_value, ModuleRef):
                values += self.module_name(owner_value.module, attr, expr)
            elif isinstance(owner_value, External):
                values.append(External(f"{owner_value.name}.{attr}"))
            else:
                raise UnresolvedError(module, expr, f"attribute of {type(owner_value).__name__}")
        return values

    def class_attribute(
        self, cls: ClassRef, attr: str, expr: ast.AST, where: Module
    ) -> list[Value]:
        """A class attribute (an enum member is its value)."""
        for owner in self.lineage(cls):
            for stmt in owner.node.body:
                target_value = _class_assignment(stmt, attr)
                if target_value is not None:
                    return self.values(target_value, Ctx(owner.module))
        raise UnresolvedError(where, expr, f"{cls.node.name} has no attribute {attr!r}")

    def instance_attribute(
        self, cls: ClassRef, attr: str, expr: ast.AST, made: Made | None, where: Module
    ) -> list[Value]:
        """``obj.attr`` of an instance: class attributes and ``self.attr = ...`` in methods."""
        values: list[Value] = []
        found = False
        for owner in self.lineage(cls):
            for stmt in owner.node.body:
                target_value = _class_assignment(stmt, attr)
                if target_value is not None:
                    found = True
                    values += self.values(target_value, Ctx(owner.module))
                if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                    for node in local_nodes(stmt):
                        value = _self_assignment(node, attr)
                        if value is None:
                            continue
                        found = True
                        ctx = Ctx(owner.module)
                        if made is not None and stmt.name == "__init__":
                            site = CallSite(made.call, made.ctx.module, skip_first=True)
                            ctx = self.bindings_for(stmt, site, ctx)
                        values += self.values(value, ctx)
        if not found:
            raise UnresolvedError(where, expr, f"{cls.node.name} never sets {attr!r}")
        return values

    def made_attribute(self, made: Made, attr: str, expr: ast.AST, where: Module) -> list[Value]:
        """An attribute of an object built by a known call: its keyword, or what it sets."""
        for keyword in made.call.keywords:
            if keyword.arg == attr:
                return self.values(keyword.value, made.ctx)
        if made.cls is not None:
            return self.instance_attribute(made.cls, attr, expr, made, where)
        raise UnresolvedError(where, expr, f"no keyword {attr!r} in the call")

    # --- everything --------------------------------------------------------------------

    def values(self, expr: ast.expr, ctx: Ctx) -> list[Value]:
        """Every value ``expr`` can have (duplicates possible), or raise UnresolvedError."""
        module = ctx.module
        key = (id(expr), id(ctx.bindings) if ctx.bindings else 0)
        if key in self._stack:
            return []  # a cycle: what it adds comes through another way
        if self._depth > MAX_DEPTH:
            raise UnresolvedError(module, expr, "too deep")
        self._stack.add(key)
        self._depth += 1
        try:
            return self._values(expr, ctx)
        finally:
            self._depth -= 1
            self._stack.discard(key)

    def _values(self, expr: ast.expr, ctx: Ctx) -> list[Value]:
        module = ctx.module
        match expr:
            case ast.Constant(value=str() as text):
                return [text]
            case ast.Constant():
                return []  # None, numbers: never a key
            case ast.JoinedStr():
                parts: list[list[str]] = []
                for part in expr.values:
                    if isinstance(part, ast.FormattedValue):
                        if part.format_spec is not None:
                            raise UnresolvedError(module, expr, "a format spec")
                        parts.append(self.strings(part.value, ctx))
                    else:
                        parts.append(self.strings(part, ctx))
                return ["".join(combo) for combo in product(*parts)]
            case ast.BinOp(op=ast.Add()):
                left, right = self.strings(expr.left, ctx), self.strings(expr.right, ctx)
                return [a + b for a, b in product(left, right)]
            case ast.Name():
                return self.name(expr, ctx)
            case ast.Attribute():
                return self.attribute(expr, ctx)
            case ast.Call():
                return self.call(expr, ctx)
            case ast.Subscript():
                values: list[Value] = []
                for owner in self.values(expr.value, ctx):
                    if isinstance(owner, DictValue):
                        values += self.elems(owner.values, expr, module)
                    elif isinstance(owner, Items):
                        values += self.elems(owner.elements, expr, module)
                    elif isinstance(owner, External):
                        values.append(owner)  # a type annotation: Final[...], dict[...]
                    else:
                        raise UnresolvedError(
                            module, expr, "a subscript of something not a literal"
                        )
                return values
            case ast.IfExp():
                return self.values(expr.body, ctx) + self.values(expr.orelse, ctx)
            case ast.BoolOp():
                return [v for operand in expr.values for v in self.values(operand, ctx)]
            case ast.NamedExpr():
                return self.values(expr.value, ctx)
            case ast.Tuple() | ast.List() | ast.Set():
                return [Items(tuple(Node(element, ctx) for element in expr.elts))]
            case ast.Dict():
                return [
                    DictValue(
                        tuple(Node(k, ctx) if k is not None else None for k in expr.keys),
                        tuple(Node(v, ctx) for v in expr.values),
                        ctx,
                    )
                ]
            case ast.ListComp() | ast.SetComp() | ast.GeneratorExp():
                return [Items(tuple(self.comprehension(expr, ctx)))]
        raise UnresolvedError(module, expr, f"a {type(expr).__name__} expression")

    def comprehension(
        self, expr: ast.ListComp | ast.SetComp | ast.GeneratorExp, ctx: Ctx
    ) -> list[Value]:
        """The elements a one-generator comprehension makes."""
        module = ctx.module
        if len(expr.generators) != 1 or expr.generators[0].ifs:
            raise UnresolvedError(module, expr, "a comprehension with filters or several loops")
        generator = expr.generators[0]
        if not isinstance(generator.target, ast.Name):
            raise UnresolvedError(module, expr, "unpacking in a comprehension")
        elements: list[Value] = []
        for item in self.iterate(Node(generator.iter, ctx), expr, module):
            bound = ctx.bind(expr, generator.target.id, [item])
            elements += self.values(expr.elt, bound)
        return elements

    def iterate(self, node: Node, where: ast.AST, module: Module) -> list[Value]:
        """The elements of an iterable: a literal, a constant tuple, an enum's members."""
        values: list[Value] = []
        for value in self.values(node.expr, node.ctx):
            if isinstance(value, Items):
                values += self.elems(value.elements, where, module)
            elif isinstance(value, DictValue):
                values += self.elems([k for k in value.keys if k is not None], where, module)
            elif isinstance(value, ClassRef) and self.is_enum(value):
                for stmt in value.node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                        values += self.values(stmt.value, Ctx(value.module))
            else:
                raise UnresolvedError(module, where, f"iterating over {type(value).__name__}")
        return values

    def is_enum(self, cls: ClassRef) -> bool:
        """Whether a class is an enum (StrEnum, Enum...)."""
        return any(
            isinstance(base, ast.Name) and base.id.endswith("Enum") for base in cls.node.bases
        )

    def elems(self, elems: Sequence[Elem], where: ast.AST, module: Module) -> list[Value]:
        """Evaluate nodes; values stay as they are."""
        values: list[Value] = []
        for elem in elems:
            if isinstance(elem, Node):
                values += self.values(elem.expr, elem.ctx)
            else:
                values.append(elem)
        return values

    def strings(self, expr: ast.expr, ctx: Ctx) -> list[str]:
        """Every string ``expr`` can be; anything else is UnresolvedError."""
        found = self.values(expr, ctx)
        if not found or not all(isinstance(value, str) for value in found):
            kinds = sorted({type(value).__name__ for value in found}) or ["nothing"]
            raise UnresolvedError(ctx.module, expr, f"not a string but {', '.join(kinds)}")
        return sorted(set(cast("list[str]", found)))

    def strings_of(self, values: Sequence[Value], module: Module, where: ast.AST) -> list[str]:
        """The values, which must all be strings."""
        if not all(isinstance(value, str) for value in values):
            kinds = sorted({type(value).__name__ for value in values})
            raise UnresolvedError(module, where, f"not a string but {', '.join(kinds)}")
        return sorted(set(cast("list[str]", values)))

    def dict_keys(self, expr: ast.expr, ctx: Ctx) -> set[str] | None:
        """The keys of a dict literal (None when not one, or it has ``**``)."""
        if not isinstance(expr, ast.Dict) or any(key is None for key in expr.keys):
            return None
        keys: set[str] = set()
        for key in expr.keys:
            assert key is not None
            keys.update(self.strings(key, ctx))
        return keys

    def contexts(self, node: ast.AST, module: Module) -> list[Ctx]:
        """One context per call of the function around ``node``: its parameters bound.

        Values that belong together (a key and its placeholders, a selector's
        key and its options) are evaluated in each of these, so that one call's
        key is never paired with another call's options.
        """
        scope = module.scope_of(node)
        if scope is None or isinstance(scope, ast.Lambda):
            return [Ctx(module)]
        sites = self.calls_to(scope)
        if not sites:
            return [Ctx(module)]
        return [self.bindings_for(scope, site, Ctx(module)) for site in sites]


def _target_names(target: ast.expr) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple | ast.List):
        return {name for element in target.elts for name in _target_names(element)}
    return set()


def _local_assignments(scope: Scope, name: str) -> list[ast.AST]:
    """The statements of a function that bind ``name`` (not in nested functions)."""
    found: list[ast.AST] = []
    for node in local_nodes(scope):
        if isinstance(node, ast.Assign):
            found.extend(
                node if isinstance(target, ast.Name) else target
                for target in node.targets
                if name in _target_names(target)
            )
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and name in _target_names(node.target):
            if isinstance(node, ast.AnnAssign) and node.value is None:
                continue
            found.append(node)
        elif isinstance(node, ast.NamedExpr) and node.target.id == name:
            found.append(node)
        elif isinstance(node, ast.For | ast.AsyncFor) and name in _target_names(node.target):
            found.append(node if isinstance(node.target, ast.Name) else node.target)
        elif (isinstance(node, ast.ExceptHandler) and node.name == name) or (
            isinstance(node, ast.withitem)
            and node.optional_vars is not None
            and name in _target_names(node.optional_vars)
        ):
            found.append(node)  # a with-item: reported as not followed
    return found


def _class_assignment(stmt: ast.stmt, attr: str) -> ast.expr | None:
    """The value a class-body statement gives ``attr``, if it does."""
    if isinstance(stmt, ast.Assign) and any(
        isinstance(t, ast.Name) and t.id == attr for t in stmt.targets
    ):
        return stmt.value
    if (
        isinstance(stmt, ast.AnnAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.target.id == attr
        and stmt.value is not None
    ):
        return stmt.value
    return None


def _self_assignment(node: ast.AST, attr: str) -> ast.expr | None:
    """The value of ``self.attr = value`` (or annotated), if ``node`` is one."""
    targets: list[ast.expr] = []
    value: ast.expr | None = None
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    for target in targets:
        if (
            isinstance(target, ast.Attribute)
            and target.attr == attr
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            return value
    return None


def keyword(call: ast.Call, name: str, position: int | None = None) -> ast.expr | None:
    """A call's argument by keyword, else by position."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if position is not None and position < len(call.args):
        arg = call.args[position]
        return None if isinstance(arg, ast.Starred) else arg
    return None


def walk_calls(resolver: Resolver) -> Iterator[tuple[Module, ast.Call]]:
    """Every call in the package."""
    for module in resolver.modules.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                yield module, node


def callee_name(call: ast.Call) -> str:
    """The last name of what a call calls (``x.y.f(...)`` -> ``f``)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""
