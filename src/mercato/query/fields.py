"""The ``fields`` selection engine (Medusa semantics) and batched rendering of resources.

A :class:`Resource` describes what a client may see of one kind of object: plain fields (getters
over a loaded row), computed fields (one batched query for a whole page of rows) and relations
(one batched query per relation and nesting level). Rendering a page therefore costs a number of
SQL statements that depends on the selection, never on the page size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid
from mercato.query.driver import driver_connection

Getter = Callable[[Any], Any]
Tree = dict[str, "Tree | None"]


class RenderContext:
    """One render pass: the session and a memo so related computed fields share a query."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._memo: dict[tuple[Any, ...], list[Any]] = {}
        self._driver: Any = None
        # Rows a loader fetched joined to a parent row: id(parent row) -> {relation: row}.
        self.joined: dict[int, dict[str, Any]] = {}

    async def driver(self) -> Any:
        """The session's driver connection, looked up once per pass (no commit happens while
        a response renders, so it cannot change)."""
        if self._driver is None:
            self._driver = await driver_connection(self.session)
        return self._driver

    async def batch(self, loader: Callable[..., Any], rows: list[Any], *args: Any) -> list[Any]:
        key = (id(loader), tuple(id(row) for row in rows), *args)
        if key not in self._memo:
            self._memo[key] = await loader(self, rows, *args)
        return self._memo[key]

    def seed(self, loader: Callable[..., Any], rows: list[Any], args: tuple, values: list) -> None:
        """Record what ``batch(loader, rows, *args)`` returns without running the loader."""
        self._memo[(id(loader), tuple(id(row) for row in rows), *args)] = values


BatchLoader = Callable[[RenderContext, list[Any]], Awaitable[list[Any]]]


@dataclass(frozen=True, slots=True)
class Field:
    """A plain field: ``get`` reads the row; ``reads`` names the columns it needs, so loaders
    select only the columns a response shows (a bare callable as a field may read anything)."""

    get: Getter
    reads: tuple[str, ...]


@dataclass(frozen=True)
class Computed:
    """A field computed for a whole page at once: ``loader`` returns one dict per row.

    ``reads``: the row's columns the loader uses (None: it may use any)."""

    loader: BatchLoader
    key: str
    reads: tuple[str, ...] | None = None


# A to-one relation fetched in the same statement as its parent rows:
# (relation name, its loader, the columns its fields read).
Join = tuple[str, "ColumnLoader", frozenset[str]]


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
    """The to-one relations in ``tree`` whose selection is plain fields only: their rows can come
    from the parent's statement (one statement fewer per relation)."""
    joins = []
    for name, sub in tree.items():
        if sub is None:
            continue
        relation = resource.relations[name]
        target = relation.target()
        if relation.many or not getattr(relation.load, "joinable", False):
            continue
        if any(s is not None or not isinstance(target.fields[f], Field) for f, s in sub.items()):
            continue
        columns = columns_needed(target, sub)
        if columns is not None:  # (always, for plain fields): the key of the nested batch
            joins.append((name, relation.load, columns))
    return tuple(joins)


@dataclass
class Relation:
    """``load`` returns, aligned with the parent rows, a child (or None) or a list of children."""

    target: Callable[[], Resource]
    load: BatchLoader | ColumnLoader
    many: bool


@dataclass
class Resource:
    name: str
    fields: dict[str, Getter | Computed]
    relations: dict[str, Relation] = field(default_factory=dict)
    defaults: tuple[str, ...] = ()

    def knows(self, path: list[str]) -> bool:
        head, rest = path[0], path[1:]
        if head in self.fields:
            return not rest
        if head in self.relations:
            return not rest or rest == ["*"] or self.relations[head].target().knows(rest)
        return False


@dataclass(frozen=True)
class FieldRules:
    """A route's default selection and the paths it allows (``rel.*`` allows a whole subtree)."""

    defaults: tuple[str, ...]
    allowed: tuple[str, ...] = ("*",)

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


def _select(resource: Resource, rules: FieldRules, fields_param: str | None) -> Tree:
    entries = [e.strip() for e in (fields_param or "").split(",") if e.strip()]
    replace = any(not e.startswith(("+", "-", "*")) and not e.endswith(".*") for e in entries)
    paths: list[str] = [] if replace else list(rules.defaults)
    removed: list[str] = []
    invalid_paths: list[str] = []
    for entry in entries:
        if entry.startswith("-"):
            removed.append(_normalise(entry[1:]).removesuffix(".*"))
            continue
        path = _normalise(entry.removeprefix("+"))
        if not resource.knows(path.split(".")) or not rules.allows(path.removesuffix(".*")):
            invalid_paths.append(path)
            continue
        paths.append(path)
    if invalid_paths:
        raise invalid(f"Requested fields [{', '.join(invalid_paths)}] are not valid")
    tree: Tree = {}
    for path in paths:
        if not any(path == r or path.startswith(r + ".") for r in removed):
            _add(tree, resource, path.split("."), rules, prefix="")
    for path in removed:  # also out of a relation's expanded defaults (``-variants.sku``)
        _prune(tree, path.split("."))
    return _with_ids(resource, tree)


def _prune(tree: Tree, path: list[str]) -> None:
    head, rest = path[0], path[1:]
    if head not in tree:
        return
    if not rest:
        del tree[head]
    elif (subtree := tree[head]) is not None:
        _prune(subtree, rest)


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


async def render(ctx: RenderContext, resource: Resource, rows: list[Any], tree: Tree) -> list[dict]:
    """Render ``rows`` with the selection ``tree``; one batch per computed loader and relation."""
    out: list[dict[str, Any]] = [{} for _ in rows]
    if not rows:
        return out
    for name, sub in tree.items():
        spec = resource.fields.get(name)
        if sub is None and isinstance(spec, Computed):
            values = await ctx.batch(spec.loader, rows)
            for result, value in zip(out, values, strict=True):
                result[name] = value.get(spec.key)
        elif sub is None:
            get = spec.get if isinstance(spec, Field) else spec
            for result, row in zip(out, rows, strict=True):
                result[name] = get(row)  # type: ignore[misc]
        else:
            await _render_relation(ctx, resource.relations[name], name, rows, sub, out)
    return out


async def _render_relation(
    ctx: RenderContext, relation: Relation, name: str, rows: list[Any], sub: Tree, out: list[dict]
) -> None:
    joins: tuple[Join, ...] = ()
    if isinstance(relation.load, ColumnLoader):
        target = relation.target()
        joins = _joins(target, sub)
        loaded = await ctx.batch(relation.load, rows, columns_needed(target, sub), joins)
    else:
        loaded = await ctx.batch(relation.load, rows)
    unique: dict[int, Any] = {}
    for value in loaded:
        for child in _children(value):
            unique.setdefault(id(child), child)
    children = list(unique.values())
    for join_name, join_loader, join_columns in joins:
        # The joined rows answer the nested relation's batch when the children render.
        joined = [ctx.joined[id(child)][join_name] for child in children]
        ctx.seed(join_loader, children, (join_columns, ()), joined)
    rendered = dict(
        zip(
            (id(c) for c in children),
            await render(ctx, relation.target(), children, sub),
            strict=True,
        )
    )
    for result, value in zip(out, loaded, strict=True):
        if relation.many:
            result[name] = [rendered[id(c)] for c in value or []]
        else:
            result[name] = rendered[id(value)] if value is not None else None


def _children(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    return value if isinstance(value, list) else (value,)
