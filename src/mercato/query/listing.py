"""Validated list queries: filters with operator maps, ``q``, ``order``, pagination, ``fields``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.errors import invalid, not_found
from mercato.query.driver import row_type, rows_of
from mercato.query.fields import (
    FieldRules,
    RenderContext,
    Resource,
    Tree,
    columns_needed,
    render,
)
from mercato.query.fields import select as select_fields

MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1  # PostgreSQL bigint
EQUALITY = frozenset({"$eq", "$ne", "$in", "$nin"})
RANGE = EQUALITY | {"$gt", "$gte", "$lt", "$lte"}


def _parse_datetime(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} must be an ISO-8601 date") from None
    if value.tzinfo is None:
        raise invalid(f"{name} must be an ISO-8601 date with a time zone")
    return value


def _parse_bool(name: str, raw: str) -> bool:
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise invalid(f"{name} must be a boolean")


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None


@dataclass(frozen=True)
class Filter:
    """One filterable field: how to parse its values and which operators it takes.

    ``column`` is a column expression, or a function ``(operator, value) -> clause`` for filters
    that need a subquery (e.g. order groups containing an order of a seller).
    """

    column: Any
    kind: str = "string"  # string | datetime | number | boolean
    choices: frozenset[str] | None = None

    @property
    def operators(self) -> frozenset[str]:
        return RANGE if self.kind in ("datetime", "number") else EQUALITY

    def parse(self, name: str, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise invalid(f"{name} must be a single value")
        if self.kind == "datetime":
            return _parse_datetime(name, raw)
        if self.kind == "number":
            return _parse_int(name, raw)
        if self.kind == "boolean":
            return _parse_bool(name, raw)
        if self.choices is not None and raw not in self.choices:
            raise invalid(f"{name} must be one of: {', '.join(sorted(self.choices))}")
        return raw

    def clause(self, name: str, raw: Any) -> ColumnElement[bool]:
        if isinstance(raw, dict):
            parts = []
            for op, value in raw.items():
                if op not in self.operators:
                    raise invalid(f"Operator {op} is not supported for {name}")
                parts.append(self._apply(name, op, value))
            return and_(*parts)
        if isinstance(raw, list):
            return self._apply(name, "$in", raw)
        return self._apply(name, "$eq", raw)

    def _apply(self, name: str, op: str, raw: Any) -> ColumnElement[bool]:
        if op in ("$in", "$nin"):
            values = [self.parse(name, v) for v in (raw if isinstance(raw, list) else [raw])]
        else:
            values = [self.parse(name, raw)]
        if callable(self.column):
            return self.column(op, values if op in ("$in", "$nin") else values[0])
        col = self.column
        match op:
            case "$eq":
                return col == values[0]
            case "$ne":
                return col != values[0]
            case "$in":
                return col.in_(values)
            case "$nin":
                return not_(col.in_(values))
            case "$gt":
                return col > values[0]
            case "$gte":
                return col >= values[0]
            case "$lt":
                return col < values[0]
            case _:
                return col <= values[0]


def like_pattern(q: str) -> str:
    """``q`` as a literal substring for ILIKE: ``%`` and ``_`` are escaped."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def ilike_any(q: str, *columns: Any) -> ColumnElement[bool]:
    """Case-insensitive substring match on any of ``columns``.

    Written ``lower(column) LIKE lower(pattern)``: that is how PostgreSQL evaluates ``ILIKE`` in
    a multi-byte (UTF-8) database, but it lowers the pattern once instead of once per row (twice
    as fast over a scan), and it can use ``lower(column) gin_trgm_ops`` indexes (migration 0002).

    When the index would be probed with a part of ``q`` only (:func:`search_probe`), the whole
    of ``q`` is then checked on the candidates with ``strpos``, which no index serves, so the
    planner keeps it out of the index condition.
    """
    probe = search_probe(q)
    pattern = select(func.lower(literal(like_pattern(probe)))).scalar_subquery()  # once
    if probe == q:
        return or_(*(func.lower(col).like(pattern, escape="\\") for col in columns))
    needle = select(func.lower(literal(q))).scalar_subquery()
    return or_(
        *(
            and_(
                func.lower(col).like(pattern, escape="\\"),
                func.strpos(func.lower(col), needle) > 0,
            )
            for col in columns
        )
    )


def search_probe(q: str) -> str:
    """The part of ``q`` to look up in a trigram index: ``q`` itself, except for an email.

    A GIN trigram scan reads the posting list of every trigram of the pattern, and an email's
    domain (``gmail.com``) is shared by a large share of any customer base, so its trigrams
    list nearly every row: ``%jane.doe.1@bench.test%`` read 243 index pages (3.5 ms) over
    50,000 customers where ``%jane.doe.1@%`` read 63 (0.85 ms). Anything containing ``q``
    contains its local part, so probing with it (at least three characters, a trigram) and
    checking the whole of ``q`` afterwards finds exactly the same rows.
    """
    local, at, _ = q.partition("@")
    return local + at if at and len(local) >= 3 else q


@dataclass(frozen=True)
class Prefetched:
    """A condition on ids that one statement resolves before the count and the page.

    Both statements would otherwise repeat an expensive search (a substring match over
    customers); ``ids`` runs once and the condition becomes ``build(found ids)``. When more than
    ``limit`` ids match, ``fallback`` (the same condition as a subquery) is used instead, so a
    very broad search never ships a huge array.
    """

    ids: Select
    build: Callable[[list[Any]], ColumnElement[bool]]
    fallback: ColumnElement[bool]
    limit: int = 500


async def _resolve(connection: Any, condition: Any) -> ColumnElement[bool]:
    if not isinstance(condition, Prefetched):
        return condition
    found = list(await connection.scalars(condition.ids.limit(condition.limit + 1)))
    return condition.fallback if len(found) > condition.limit else condition.build(found)


# ``(session, the request's filters) -> count``, or None when it cannot answer those filters.
CountSource = Callable[[AsyncSession, Mapping[str, Any]], Awaitable[int | None]]


@dataclass(frozen=True)
class ListSpec:
    """Everything a list route accepts, declared once per route."""

    model: type
    resource: Resource
    plural: str
    fields: FieldRules
    filters: Mapping[str, Filter] = field(default_factory=dict)
    sortable: Mapping[str, Any] = field(default_factory=dict)
    default_order: str = "-created_at"
    q: Callable[[str], ColumnElement[bool] | Prefetched] | None = None
    default_limit: int = 50


@dataclass
class ListRequest:
    where: list[ColumnElement[bool] | Prefetched]
    order_by: list[Any]
    limit: int
    offset: int
    tree: Tree


def _page_number(name: str, raw: Any, default: int, maximum: int) -> int:
    if raw is None:
        return default
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()):
        raise invalid(f"{name} must be an integer >= 0")
    if int(raw) > maximum:
        raise invalid(f"{name} must be an integer <= {maximum}")
    return int(raw)


def parse_list_request(spec: ListSpec, params: Mapping[str, Any]) -> ListRequest:
    known = (
        {"limit", "offset", "order", "fields"} | set(spec.filters) | ({"q"} if spec.q else set())
    )
    unknown = [k for k in params if k not in known]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    limit = _page_number("limit", params.get("limit"), spec.default_limit, MAX_LIMIT)
    offset = _page_number("offset", params.get("offset"), 0, MAX_OFFSET)
    where = [spec.filters[k].clause(k, v) for k, v in params.items() if k in spec.filters]
    q = params.get("q")
    if q is not None:
        if not isinstance(q, str):
            raise invalid("q must be a single value")
        if q:
            where.append(spec.q(q))  # type: ignore[misc]
    fields_param = params.get("fields")
    if fields_param is not None and not isinstance(fields_param, str):
        raise invalid("fields must be a comma-separated string")
    return ListRequest(
        where=where,
        order_by=_order_by(spec, params.get("order")),
        limit=limit,
        offset=offset,
        tree=select_fields(spec.resource, spec.fields, fields_param),
    )


def _order_by(spec: ListSpec, raw: Any) -> list[Any]:
    order = raw if raw is not None else spec.default_order
    if not isinstance(order, str) or not order:
        raise invalid("order must be a field name, optionally prefixed with -")
    descending = order.startswith("-")
    name = order.removeprefix("-")
    if name not in spec.sortable:
        raise invalid(f"Order field {name} is not valid")
    column = spec.sortable[name]
    id_column = spec.model.id
    if descending:
        return [column.desc(), id_column.desc()]
    return [column.asc(), id_column.asc()]


async def run_list(
    session: AsyncSession,
    spec: ListSpec,
    params: Mapping[str, Any],
    *,
    scope: list[ColumnElement[bool]] | None = None,
    base: Select | None = None,
    count_from: CountSource | None = None,
) -> dict[str, Any]:
    """Count, fetch one page and render it: ``{plural: [...], count, offset, limit}``.

    ``count_from(session, filters)`` may answer ``count`` for the request's filters (without
    ``q``) from a maintained tally of the rows in ``scope`` instead of counting them; it returns
    None for filters it cannot answer.
    """
    request = parse_list_request(spec, params)
    # Count and plain-row page run through Core: no ORM execution machinery.
    connection = await session.connection()
    where = [await _resolve(connection, condition) for condition in request.where]
    conditions = [*(scope or []), *where]
    # The page selects only the columns the requested fields read.
    columns = columns_needed(spec.resource, request.tree)
    query = (base if base is not None else rows_of(spec.model, columns)).where(*conditions)
    page = query.order_by(*request.order_by).limit(request.limit).offset(request.offset)
    if base is not None:
        rows = list(await session.scalars(page))
    else:
        result = await connection.execute(page)
        rows = list(map(partial(tuple.__new__, row_type(result.keys())), result))
    if len(rows) < request.limit and (rows or request.offset == 0):
        # A page that is not full ends the result: the count needs no statement of its own.
        count = request.offset + len(rows)
    else:
        count = None
        if count_from is not None and not params.get("q"):
            filters = {k: v for k, v in params.items() if k in spec.filters}
            count = await count_from(session, filters)
        if count is None:
            count = await connection.scalar(
                select(func.count()).select_from(query.order_by(None).subquery())
            )
    items = await render(RenderContext(session), spec.resource, rows, request.tree)
    return {spec.plural: items, "count": count, "offset": request.offset, "limit": request.limit}


async def run_retrieve(
    session: AsyncSession,
    *,
    resource: Resource,
    rules: FieldRules,
    row: Any,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    """Render one row with the route's ``fields`` rules; only ``fields`` is accepted."""
    unknown = [k for k in params if k != "fields"]
    if unknown:
        raise invalid(
            f"Invalid request: Unrecognized fields: {', '.join(repr(k) for k in unknown)}"
        )
    fields_param = params.get("fields")
    if fields_param is not None and not isinstance(fields_param, str):
        raise invalid("fields must be a comma-separated string")
    tree = select_fields(resource, rules, fields_param)
    return (await render(RenderContext(session), resource, [row], tree))[0]


async def get_or_404(
    session: AsyncSession, model: type, entity: str, entity_id: str, *scope: Any
) -> Any:
    """Load a live (not soft-deleted) row in scope, or raise the spec's not-found error."""
    query = select(model).where(model.id == entity_id, *scope)
    if hasattr(model, "deleted_at"):
        query = query.where(model.deleted_at.is_(None))
    row = await session.scalar(query)
    if row is None:
        raise not_found(entity, entity_id)
    return row
