"""The ``fields`` selection engine (Medusa semantics) and batched rendering of resources.

A :class:`Resource` describes what a client may see of one kind of object: plain fields (getters
over a loaded row), computed fields (one batched query for a whole page of rows) and relations
(one batched query per relation and nesting level). Rendering a page therefore costs a number of
SQL statements that depends on the selection, never on the page size.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid
from mercato.query.driver import driver_connection

T = TypeVar("T")
Getter = Callable[[Any], Any]
Tree = dict[str, "Tree | None"]


class RenderContext:
    """One render pass: the session and a memo so related computed fields share a query.

    The memo is keyed by the identity of the list of rows (render passes the same list object
    to every loader of one level), and keeps that list so an identity cannot be reused."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._memo: dict[tuple[Any, ...], tuple[list[Any], list[Any]]] = {}
        self._shared: dict[tuple[Any, ...], Any] = {}
        self._driver: Any = None

    async def driver(self) -> Any:
        """The session's driver connection, looked up once per pass (no commit happens while
        a response renders, so it cannot change)."""
        if self._driver is None:
            self._driver = await driver_connection(self.session)
        return self._driver

    async def shared(self, key: tuple[Any, ...], load: Callable[[], Awaitable[T]]) -> T:
        """``load()`` once per pass for ``key``: what several computed fields of different
        levels read (a cart's adjustments for its lines, methods and totals)."""
        if key not in self._shared:
            self._shared[key] = await load()
        return cast(T, self._shared[key])

    async def batch(self, loader: Callable[..., Any], rows: list[Any], *args: Any) -> list[Any]:
        key = (id(loader), id(rows), *args)
        found = self._memo.get(key)
        if found is None or found[0] is not rows:
            found = self._memo[key] = (rows, await loader(self, rows, *args))
        return found[1]


BatchLoader = Callable[[RenderContext, list[Any]], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class Field:
    """A plain field: ``get`` reads the row; ``reads`` names the columns it needs, so loaders
    select only the columns a response shows (a bare callable as a field may read anything).

    ``expr``, when given, is the same reading as a Python expression over the row ``r`` (names
    it uses besides ``r`` come from ``env``): a level of a response is then rendered by one
    generated comprehension instead of one getter call per field and row (:func:`_compile`).
    ``schema``: the JSON schema of its values, for the OpenAPI document (None: any value)."""

    get: Getter
    reads: tuple[str, ...]
    expr: str | None = None
    env: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class Computed:
    """A field computed for a whole page at once: ``loader`` returns one dict per row.

    ``reads``: the row's columns the loader uses (None: it may use any)."""

    loader: BatchLoader
    key: str
    reads: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Join:
    """A to-one relation fetched in the same statement as its parent rows (``LEFT JOIN``):
    the columns its selection reads, and its own to-one relations joined the same way.

    The joined columns ride on the parent's rows, named ``<name>__<column>`` (nested:
    ``variant__product__title``), and the parent's level renders the relation from them inline
    (:func:`_inline`)."""

    name: str
    loader: ColumnLoader
    columns: frozenset[str]
    nested: tuple[Join, ...] = ()


class ColumnLoader:
    """A relation loader that can fetch only some of the target's columns.

    ``reads`` are the parent row's columns it needs (its keys); it is called with the set of
    the target's columns to fetch (None: all of them) and the to-one relations of the target to
    join into the same statement. A ``joinable`` loader (belongs-to) can be such a join."""

    reads: tuple[str, ...]
    joinable: bool = False

    async def __call__(
        self,
        ctx: RenderContext,
        rows: list[Any],
        columns: frozenset[str] | None,
        joins: tuple[Join, ...] = (),
    ) -> list[Any]:
        raise NotImplementedError


def _joins(resource: Resource, tree: Tree) -> tuple[Join, ...]:
    """The to-one relations in ``tree`` that can come from the parent's statement (one
    statement fewer each): belongs-to relations whose selection is fields with an ``expr``
    and such relations only, nested (``items.variant.product``: one statement)."""
    joins = []
    for name, sub in tree.items():
        if sub is None:
            continue
        relation = resource.relations[name]
        if relation.many or not getattr(relation.load, "joinable", False):
            continue
        target = relation.target()
        nested = _joins(target, sub)
        columns = columns_needed(target, sub)
        if columns is not None and _inlinable(target, sub, nested):
            joins.append(Join(name, relation.load, columns, nested))  # type: ignore[arg-type]
    return tuple(joins)


def _inlinable(resource: Resource, tree: Tree, nested: tuple[Join, ...]) -> bool:
    joined = {join.name for join in nested}
    return all(
        name in joined if sub is not None else getattr(resource.fields[name], "expr", None)
        for name, sub in tree.items()
    )


@dataclass
class Relation:
    """``load`` returns, aligned with the parent rows, a child (or None) or a list of children."""

    target: Callable[[], Resource]
    load: BatchLoader | ColumnLoader
    many: bool


@dataclass
class Resource:
    name: str
    fields: dict[str, Field | Computed | Getter]
    relations: dict[str, Relation] = field(default_factory=dict)
    defaults: tuple[str, ...] = ()

    def knows(self, path: list[str]) -> bool:
        head, rest = path[0], path[1:]
        if head in self.fields:
            return not rest or rest == ["*"]  # ``*shipping_address``: a JSON field, whole
        if head in self.relations:
            return not rest or rest == ["*"] or self.relations[head].target().knows(rest)
        return False


@dataclass(frozen=True)
class FieldRules:
    """A route's default selection and the paths it allows (``rel.*`` allows a whole subtree);
    ``always``: fields answered whatever ``fields`` says (Medusa's order workflows attach the
    statuses)."""

    defaults: tuple[str, ...]
    allowed: tuple[str, ...] = ("*",)
    always: tuple[str, ...] = ()

    def allows(self, path: str) -> bool:
        for pattern in self.allowed:
            if pattern == "*" or pattern == path:
                return True
            if pattern.endswith(".*") and (path + ".").startswith(pattern[:-1]):
                return True
            if pattern.startswith(path + "."):  # a relation whose fields are (partly) allowed
                return True
        return False


def _normalise(entry: str) -> str:
    if entry.startswith("*"):
        entry = entry[1:] + ".*"
    return entry


_TREES: dict[tuple[int, FieldRules, str | None], Tree] = {}
_MAX_TREES = 512


def select(resource: Resource, rules: FieldRules, fields_param: str | None) -> Tree:
    """Turn a ``fields`` query value into a selection tree, or raise 400 naming bad fields.

    Trees are memoised per (resource, rules, ``fields``): most requests send the same few
    selections, and expanding a route's defaults costs more than rendering a small page. Callers
    must treat the tree as read-only."""
    key = (id(resource), rules, fields_param)
    tree = _TREES.get(key)
    if tree is None:
        tree = _select(resource, rules, fields_param)
        if len(_TREES) >= _MAX_TREES:
            _TREES.clear()
        _TREES[key] = tree
    return tree


# Medusa's ``FieldParser``: an entry is a modifier when it starts with ``+``, ``-``, a space
# (a ``+`` a query string decoded) or ``*``, or ends with ``.*``; replace mode strips these.
_MODIFIER_PREFIX = re.compile(r"^[+ \t-]+")


def _is_modifier(entry: str) -> bool:
    return entry.startswith(("-", "+", " ", "*")) or entry.endswith(".*")


def _select(resource: Resource, rules: FieldRules, fields_param: str | None) -> Tree:
    """Medusa's ``FieldParser``, exact: when some entry is bare (replace mode) every entry is
    selected, one leading run of ``+``, ``-`` and blanks removed (``…,-variants`` selects the
    variants); otherwise (modifier mode) the route's defaults are taken and each entry applied
    in order: ``+x`` adds ``x``, ``-x`` removes ``x`` and every selected path below it (also
    out of a relation's expanded defaults), ``*x`` / ``x.*`` add the relation's defaults.
    Duplicates are harmless; ``id`` is always selected."""
    entries = [e for e in (fields_param or "").split(",") if e.strip()]
    # (kind, path): a route default (trusted), a requested path, or a removal.
    ops: list[tuple[str, str]] = []
    if any(not _is_modifier(e) for e in entries):
        ops = [("add", _MODIFIER_PREFIX.sub("", e).strip()) for e in entries]
    else:
        ops = [("default", path) for path in rules.defaults]
        for entry in entries:
            path = _MODIFIER_PREFIX.sub("", entry).strip()
            if entry.startswith("-"):
                ops.append(("remove", _normalise(path).removesuffix(".*")))
            else:
                ops.append(("add", path))
    steps: list[tuple[bool, str]] = []  # (add?, normalised path)
    invalid_paths: list[str] = []
    for kind, raw in ops:
        path = _normalise(raw)
        if not path or path == ".*":
            continue
        if kind == "remove" or kind == "default":
            steps.append((kind == "default", path))
            continue
        if not resource.knows(path.split(".")) or not rules.allows(path.removesuffix(".*")):
            if path not in invalid_paths:
                invalid_paths.append(path)
            continue
        steps.append((True, path))
    if invalid_paths:
        raise invalid(f"Requested fields [{', '.join(invalid_paths)}] are not valid")
    tree: Tree = {}
    for add, path in steps:
        if add:
            _add(tree, resource, path.split("."), rules, prefix="")
        else:
            _prune(tree, path.split("."))
    for path in rules.always:
        _add(tree, resource, path.split("."), rules, prefix="")
    return _with_ids(resource, tree)


def _prune(tree: Tree, path: list[str]) -> None:
    """Remove ``path`` (and what is below it); a relation left with nothing selected goes."""
    head, rest = path[0], path[1:]
    if head not in tree:
        return
    if not rest:
        del tree[head]
    elif (subtree := tree[head]) is not None:
        _prune(subtree, rest)
        if not subtree:
            del tree[head]


def _add(tree: Tree, resource: Resource, path: list[str], rules: FieldRules, prefix: str) -> None:
    head, rest = path[0], path[1:]
    if head in resource.fields:
        tree.setdefault(head, None)
        return
    relation = resource.relations[head]
    subtree = tree.get(head) or {}
    tree[head] = subtree
    target = relation.target()
    if not rest or rest == ["*"]:
        for default in target.defaults:
            if rules.allows(f"{prefix}{head}.{default}"):
                _add(subtree, target, default.split("."), rules, f"{prefix}{head}.")
        return
    _add(subtree, target, rest, rules, f"{prefix}{head}.")


def _with_ids(resource: Resource, tree: Tree) -> Tree:
    ordered: Tree = {"id": None} if "id" in resource.fields else {}
    for name, sub in tree.items():
        if sub is not None:
            ordered[name] = _with_ids(resource.relations[name].target(), sub)
        else:
            ordered[name] = None
    return ordered


def columns_needed(resource: Resource, tree: Tree) -> frozenset[str] | None:
    """The row columns rendering ``tree`` reads (None when some field may read any column)."""
    needed: set[str] = set()
    for name, sub in tree.items():
        spec = resource.relations[name].load if sub is not None else resource.fields[name]
        reads = getattr(spec, "reads", None)
        if reads is None:
            return None
        needed.update(reads)
    return frozenset(needed)


@dataclass(frozen=True, slots=True)
class _Level:
    """How to render one level of a selection: ``build(rows, *computed_values)`` makes the
    dicts (relations as ``None`` placeholders, so keys keep the selection's order), then each
    relation fills its key."""

    build: Callable[..., list[dict[str, Any]]]
    computed: tuple[Computed, ...]
    # (name, the target columns the selection reads, the target's relations joined in)
    relations: tuple[tuple[str, frozenset[str] | None, tuple[Join, ...]], ...]


# Compiled levels per (resource, selection tree node, whether the rows carry joined columns).
# Trees come memoised from :func:`select`, so a handful of nodes recur; each entry holds its
# resource and node, so neither id can be reused by another object while the entry exists.
_LEVELS: dict[tuple[int, int, bool], tuple[Resource, Tree, _Level]] = {}


def _level(resource: Resource, tree: Tree, joined: bool) -> _Level:
    key = (id(resource), id(tree), joined)
    found = _LEVELS.get(key)
    if found is None or found[0] is not resource or found[1] is not tree:
        if len(_LEVELS) >= 4 * _MAX_TREES:
            _LEVELS.clear()
        found = _LEVELS[key] = (resource, tree, _compile(resource, tree, joined))
    return found[2]


def _compile(resource: Resource, tree: Tree, joined: bool = False) -> _Level:
    """Generate ``[{"id": r.id, "total": …, "orders": None} for r in rows]`` for a level.

    Fields with an ``expr`` are inlined; other getters are called; computed fields read the
    value lists their loaders returned (zipped with the rows). When the rows came from a
    relation loader (``joined``), they carry the columns of the to-one relations
    :func:`_joins` chose, and those relations render inline too."""
    env: dict[str, Any] = {}
    items: list[str] = []
    computed: list[Computed] = []
    relations: list[tuple[str, frozenset[str] | None, tuple[Join, ...]]] = []
    inline = {join.name: join for join in _joins(resource, tree)} if joined else {}
    for name, sub in tree.items():
        spec = resource.fields.get(name)
        if sub is not None and name in inline:
            target = resource.relations[name].target()
            value = _inline(target, sub, inline[name], f"{name}__", env)
        elif sub is not None:
            target = resource.relations[name].target()
            relations.append((name, columns_needed(target, sub), _joins(target, sub)))
            value = "None"
        elif isinstance(spec, Computed):
            value = f"_v{len(computed)}.get({spec.key!r})"
            computed.append(spec)
        elif isinstance(spec, Field) and spec.expr is not None:
            value = f"({spec.expr})"
            env.update(spec.env)
        else:
            getter = f"_get{len(items)}"
            env[getter] = spec.get if isinstance(spec, Field) else spec
            value = f"{getter}(r)"
        items.append(f"{name!r}: {value}")
    values = "".join(f", _v{i}" for i in range(len(computed)))
    loop = f"zip(rows{values}, strict=True)" if computed else "rows"
    each = f"(r{values})" if computed else "r"
    source = f"def build(rows{values}):\n    return [{{{', '.join(items)}}} for {each} in {loop}]\n"
    namespace = dict(env)
    exec(compile(source, f"<render {resource.name}>", "exec"), namespace)  # noqa: S102
    return _Level(namespace["build"], tuple(computed), tuple(relations))


# ``r.`` at the start of an attribute read in a field's ``expr`` (not ``_iso(r.x)``'s ``_iso``).
_ROW_READ = re.compile(r"(?<![\w.])r\.")


def _inline(resource: Resource, tree: Tree, join: Join, prefix: str, env: dict[str, Any]) -> str:
    """The expression rendering a joined relation from its parent's row: ``None`` when the
    ``LEFT JOIN`` found no row, else the dict of its fields, each field's ``expr`` reading the
    prefixed columns (``r.title`` -> ``r.variant__title``)."""
    nested = {inner.name: inner for inner in join.nested}
    items = []
    for name, sub in tree.items():
        if sub is None:
            spec: Any = resource.fields[name]
            env.update(spec.env)
            value = f"({_ROW_READ.sub(f'r.{prefix}', spec.expr)})"
        else:
            target = resource.relations[name].target()
            value = _inline(target, sub, nested[name], f"{prefix}{name}__", env)
        items.append(f"{name!r}: {value}")
    key = f"r.{prefix}{join.loader.key}"  # type: ignore[attr-defined]
    return f"(None if {key} is None else {{{', '.join(items)}}})"


async def render(
    ctx: RenderContext, resource: Resource, rows: list[Any], tree: Tree, joined: bool = False
) -> list[dict[str, Any]]:
    """Render ``rows`` with the selection ``tree``; one batch per computed loader and relation
    (``joined``: the rows come from a relation loader, with the joins :func:`_joins` chose)."""
    if not rows:
        return []
    level = _level(resource, tree, joined)
    values = [await ctx.batch(spec.loader, rows) for spec in level.computed]
    out = level.build(rows, *values)
    for name, columns, joins in level.relations:
        relation = resource.relations[name]
        sub = tree[name]
        assert sub is not None  # a level's relations are the selected ones (:func:`_compile`)
        await _render_relation(ctx, relation, name, rows, sub, columns, joins, out)
    return out


async def _render_relation(
    ctx: RenderContext,
    relation: Relation,
    name: str,
    rows: list[Any],
    sub: Tree,
    columns: frozenset[str] | None,
    joins: tuple[Join, ...],
    out: list[dict[str, Any]],
) -> None:
    target = relation.target()
    joined = isinstance(relation.load, ColumnLoader)
    if joined:
        loaded = await ctx.batch(relation.load, rows, columns, joins)
    else:
        loaded = await ctx.batch(relation.load, rows)
    if relation.many:
        # Every loaded child is its own row: render them all at once, then deal them back.
        children = [child for value in loaded if value for child in value]
    else:
        # A belongs-to target shared by several parents is rendered once.
        children = list({id(child): child for child in loaded if child is not None}.values())
    rendered = await render(ctx, target, children, sub, joined)
    if relation.many:
        start = 0
        for result, value in zip(out, loaded, strict=True):
            end = start + len(value) if value else start
            result[name] = rendered[start:end]
            start = end
    else:
        by_child = dict(zip(map(id, children), rendered, strict=True))
        for result, child in zip(out, loaded, strict=True):
            result[name] = None if child is None else by_child[id(child)]
