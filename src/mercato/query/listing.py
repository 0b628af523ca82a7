"""Validated list queries: filters with operator maps, ``q``, ``order``, pagination, ``fields``.

A list request has a *form* — which filters it uses with which operators, whether and how it
searches, its order, the columns its fields read — and *values* (the filter operands, the
search text, limit and offset, the route's scope values such as the customer's id). The
statements of each form (the page, the count, a search's prefetch) are built once, with a bind
parameter for every value, compiled once and run by the driver (:class:`FixedQuery`). A list
request therefore pays for neither building SQLAlchemy expressions nor SQLAlchemy's execution
pipeline, which cost more than rendering a small page (docs/benchmarks.md). Everything that
varies between requests of one form must be a bind parameter: scope conditions are declared
once on the :class:`ListSpec` and searches read the text through :class:`SearchText`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    all_,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from mercato.domain.limits import QUERY_TEXT_LENGTH
from mercato.errors import invalid, not_found
from mercato.query.driver import FixedQuery, rows_of
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
LISTS = frozenset({"$in", "$nin"})
# Element types of the bind parameters of computed filters, by ``Filter.kind``.
_KIND_TYPES: dict[str, TypeEngine[Any]] = {
    "string": String(),
    "datetime": DateTime(timezone=True),
    "number": BigInteger(),
    "boolean": Boolean(),
}

M = TypeVar("M")  # a mapped class, for loaders that return its instances


def _parse_datetime(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} must be an ISO-8601 date") from None
    if value.tzinfo is None:
        raise invalid(f"{name} must be an ISO-8601 date with a time zone")
    try:  # the instant must exist in UTC too: 0001-01-01T00:00:00+01:00 does not
        return value.astimezone(UTC)
    except OverflowError:
        raise invalid(f"{name} is out of range") from None


def _parse_bool(name: str, raw: str) -> bool:
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise invalid(f"{name} must be a boolean")


def _parse_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None
    if not -(2**63) <= value < 2**63:
        raise invalid(f"{name} is out of range")
    return value


@dataclass(frozen=True)
class PageIndex:
    """Where a filter's page can be read from when the filter pins one value (``$eq``).

    Rows of ``link`` carry the filter's value (``key``), the listed row's id (``row_id``) and,
    for some sortable fields, the listed row's value of that field (``orders``: sortable name
    → link column), under one index. A page in one of those orders is then read along the index
    — exactly its entries — and joined to its rows, instead of walking the list's order and
    testing row after row. ``link`` holds at most one row per value and listed row."""

    link: type[Any]
    key: Any
    row_id: Any
    orders: Mapping[str, Any]


@dataclass(frozen=True)
class Filter:
    """One filterable field: how to parse its values and which operators it takes.

    ``column`` is a column expression, or a function ``(operator, values) -> clause`` for
    filters that need more than a comparison (e.g. order groups containing an order of a
    seller); ``values`` is then an array bind parameter holding the term's value(s).
    ``page_index`` names an index table pages filtered on one value are read from.
    """

    column: Any
    kind: str = "string"  # string | datetime | number | boolean
    choices: frozenset[str] | None = None
    page_index: PageIndex | None = None

    @property
    def operators(self) -> frozenset[str]:
        return RANGE if self.kind in ("datetime", "number") else EQUALITY

    @property
    def computed(self) -> bool:
        return callable(self.column)

    def parse(self, name: str, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise invalid(f"{name} must be a single value")
        if self.kind == "datetime":
            return _parse_datetime(name, raw)
        if self.kind == "number":
            return _parse_int(name, raw)
        if self.kind == "boolean":
            return _parse_bool(name, raw)
        check_text_length(name, raw)
        if self.choices is not None and raw not in self.choices:
            raise invalid(f"{name} must be one of: {', '.join(sorted(self.choices))}")
        return raw

    def terms(self, name: str, raw: Any) -> list[tuple[str, Any]]:
        """The request's ``(operator, value)`` terms for this filter, validated and parsed; the
        value is a list for ``$in``/``$nin`` and for every term of a computed filter."""
        if isinstance(raw, dict):
            pairs = list(raw.items())
            for op, _ in pairs:
                if op not in self.operators:
                    raise invalid(f"Operator {op} is not supported for {name}")
        else:
            pairs = [("$in" if isinstance(raw, list) else "$eq", raw)]
        terms = []
        for op, value in pairs:
            if op in LISTS:
                parsed: Any = [
                    self.parse(name, v) for v in (value if isinstance(value, list) else [value])
                ]
            else:
                parsed = self.parse(name, value)
                if self.computed:
                    parsed = [parsed]
            terms.append((op, parsed))
        return terms

    def param(self, key: str, op: str) -> BindParameter[Any]:
        """The bind parameter of one term (an array for lists and computed filters)."""
        element: TypeEngine[Any] = _KIND_TYPES[self.kind] if self.computed else self.column.type
        many = self.computed or op in LISTS
        return bindparam(key, type_=ARRAY(element) if many else element)

    def condition(self, op: str, param: BindParameter[Any]) -> ColumnElement[bool]:
        if self.computed:
            clause: ColumnElement[bool] = self.column(op, param)
            return clause
        col: ColumnElement[Any] = self.column
        match op:
            case "$eq":
                return col == param
            case "$ne":
                return col != param
            case "$in":
                return col == any_(param)
            case "$nin":
                return col != all_(param)
            case "$gt":
                return col > param
            case "$gte":
                return col >= param
            case "$lt":
                return col < param
            case _:
                return col <= param


def check_text_length(name: str, raw: str) -> None:
    """Text longer than any filtered column holds cannot match; refused before it reaches an
    index (a 400, as for a body)."""
    if len(raw) > QUERY_TEXT_LENGTH:
        raise invalid(f"{name} must be at most {QUERY_TEXT_LENGTH} characters")


def like_pattern(q: str) -> str:
    """``q`` as a literal substring for ILIKE: ``%`` and ``_`` are escaped."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_probe(q: str) -> str:
    """The part of ``q`` to look up in a trigram index: ``q`` itself, except for an email.

    A GIN trigram scan reads the posting list of every trigram of the pattern, and an email's
    domain (``gmail.com``) is shared by a large share of any customer base, so its trigrams
    list nearly every row: the whole address reads several times the index pages its local part
    with the ``@`` does, and they match the same customers. Anything containing ``q``
    contains its local part, so probing with it (at least three characters, a trigram) and
    checking the whole of ``q`` afterwards finds exactly the same rows.
    """
    local, at, _ = q.partition("@")
    return local + at if at and len(local) >= 3 else q


class SearchText:
    """A request's ``q`` as search conditions see it: bind parameters for its values, and the
    facts about it that change a statement's form (``shape``). Conditions must read the text
    only through these parameters, so one statement serves every text of the same shape."""

    def __init__(self, q: str) -> None:
        probe = search_probe(q)
        self.whole = probe == q  # the index probe is the whole text
        number = int(q) if q.isascii() and q.isdigit() and len(q) < 19 else None
        self.is_number = number is not None
        self.shape: Hashable = (self.whole, self.is_number)
        self.values: dict[str, Any] = {"q": q, "q_pattern": like_pattern(probe)}
        if number is not None:
            self.values["q_number"] = number

    @property
    def text(self) -> BindParameter[str]:
        return bindparam("q", type_=String)

    @property
    def pattern(self) -> BindParameter[str]:
        """The ``LIKE`` pattern of the index probe (see :func:`search_probe`)."""
        return bindparam("q_pattern", type_=String)

    @property
    def number(self) -> BindParameter[int]:
        """The text as an integer; only when ``is_number``."""
        return bindparam("q_number", type_=BigInteger)


def ilike_any(text: SearchText, *columns: Any) -> ColumnElement[bool]:
    """Case-insensitive substring match of the search text on any of ``columns``.

    Written ``lower(column) LIKE lower(pattern)``: that is how PostgreSQL evaluates ``ILIKE`` in
    a multi-byte (UTF-8) database, but it lowers the pattern once instead of once per row (twice
    as fast over a scan), and it can use ``lower(column) gin_trgm_ops`` indexes (migration 0002).

    When the index is probed with a part of the text only (:func:`search_probe`), the whole text
    is then checked on the candidates with ``strpos``, which no index serves, so the planner
    keeps it out of the index condition.
    """
    pattern = select(func.lower(text.pattern)).scalar_subquery()  # lowered once
    if text.whole:
        return or_(*(func.lower(col).like(pattern, escape="\\") for col in columns))
    needle = select(func.lower(text.text)).scalar_subquery()
    return or_(
        *(
            and_(
                func.lower(col).like(pattern, escape="\\"),
                func.strpos(func.lower(col), needle) > 0,
            )
            for col in columns
        )
    )


@dataclass
class Prefetched:
    """A search whose expensive part one statement resolves to ids before the count and the
    page, which would otherwise both repeat it (a substring match over customers).

    ``ids(text)`` selects the ids; the condition is then ``build(text, ids)`` with ``ids`` an
    array parameter of the (string) ids found. When more than ``limit`` match, ``fallback(text)``
    (the same condition with the search as a subquery) is used instead, so a very broad search
    never ships a huge array."""

    ids: Callable[[SearchText], Select]
    build: Callable[[SearchText, BindParameter[Any]], ColumnElement[bool]]
    fallback: Callable[[SearchText], ColumnElement[bool]]
    limit: int = 500


Search = Callable[[SearchText], ColumnElement[bool]] | Prefetched
# ``(the request's filter terms as (name, operator) pairs, their bind parameters)`` -> a
# statement answering the count of the scope's rows matching them from a maintained tally, or
# None when it cannot. Called once per form of request.
CountSource = Callable[[tuple[tuple[str, str], ...], list[BindParameter[Any]]], Select | None]


@dataclass(frozen=True)
class ListSpec:
    """Everything a list route accepts, declared once per route.

    ``scope``: conditions every request of the route applies (``deleted_at IS NULL``, the
    logged-in customer's rows); values that depend on the request are bind parameters, given to
    :func:`run_list` as ``bind``."""

    model: type[Any]
    resource: Resource
    plural: str
    fields: FieldRules
    filters: Mapping[str, Filter] = field(default_factory=dict)
    sortable: Mapping[str, Any] = field(default_factory=dict)
    default_order: str = "-created_at"
    q: Search | None = None
    default_limit: int = 50
    scope: tuple[ColumnElement[bool], ...] = ()
    count_from: CountSource | None = None


@dataclass
class ListRequest:
    terms: list[tuple[str, str, Any]]  # (filter name, operator, parsed value)
    search: SearchText | None
    order: tuple[str, bool]  # (sortable name, descending)
    limit: int
    offset: int
    tree: Tree


def page_number(name: str, raw: Any, default: int, maximum: int) -> int:
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
    limit = page_number("limit", params.get("limit"), spec.default_limit, MAX_LIMIT)
    offset = page_number("offset", params.get("offset"), 0, MAX_OFFSET)
    terms = [
        (name, op, value)
        for name, raw in params.items()
        if name in spec.filters
        for op, value in spec.filters[name].terms(name, raw)
    ]
    q = params.get("q")
    if q is not None and not isinstance(q, str):
        raise invalid("q must be a single value")
    if q is not None:
        check_text_length("q", q)
    fields_param = params.get("fields")
    if fields_param is not None and not isinstance(fields_param, str):
        raise invalid("fields must be a comma-separated string")
    return ListRequest(
        terms=terms,
        search=SearchText(q) if q else None,
        order=_order(spec, params.get("order")),
        limit=limit,
        offset=offset,
        tree=select_fields(spec.resource, spec.fields, fields_param),
    )


def _order(spec: ListSpec, raw: Any) -> tuple[str, bool]:
    order = raw if raw is not None else spec.default_order
    if not isinstance(order, str) or not order:
        raise invalid("order must be a field name, optionally prefixed with -")
    name = order.removeprefix("-")
    if name not in spec.sortable:
        raise invalid(f"Order field {name} is not valid")
    return name, order.startswith("-")


# --------------------------------------------------------------------------- statements per form


@dataclass(frozen=True)
class _Plan:
    """The statements of one form of list request."""

    page: FixedQuery
    count: FixedQuery
    tally: FixedQuery | None  # the count from ``spec.count_from``, when it answers the form


_PLANS: dict[Hashable, tuple[ListSpec, Any]] = {}
_MAX_PLANS = 1024


def _cached(spec: ListSpec, key: Hashable, build: Callable[[], Any]) -> Any:
    """One entry per spec and form; the entry keeps its spec, so the spec's id is not reused."""
    full = (id(spec), key)
    found = _PLANS.get(full)
    if found is None or found[0] is not spec:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        found = _PLANS[full] = (spec, build())
    return found[1]


def _term_key(index: int) -> str:
    return f"filter_{index}"


def _build_plan(
    spec: ListSpec,
    shape: tuple[tuple[str, str], ...],
    search: SearchText | None,
    prefetched: bool,
    order: tuple[str, bool],
    columns: frozenset[str] | None,
) -> _Plan:
    params = [spec.filters[name].param(_term_key(i), op) for i, (name, op) in enumerate(shape)]
    filtered = [
        spec.filters[name].condition(op, param)
        for (name, op), param in zip(shape, params, strict=True)
    ]
    conditions = [*spec.scope, *filtered]
    if search is not None:
        conditions.append(_search_condition(spec.q, search, prefetched))
    name, descending = order
    page = rows_of(spec.model, columns)
    column, id_column = spec.sortable[name], spec.model.id
    driving = _driving_term(spec, shape, name)
    if driving is None:
        page = page.where(*conditions)
    else:  # read along the filter's page index (``PageIndex``)
        index = spec.filters[shape[driving][0]].page_index
        assert index is not None
        value = bindparam(f"{_term_key(driving)}_first", type_=index.key.type)
        page = page.join(index.link, index.row_id == spec.model.id).where(
            *(c for c in conditions if c is not filtered[driving]), index.key == value
        )
        column, id_column = index.orders[name], index.row_id
    order_by = [column.desc(), id_column.desc()] if descending else [column.asc(), id_column.asc()]
    page = (
        page.order_by(*order_by)
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=BigInteger))
    )
    count = select(func.count().label("count")).select_from(spec.model).where(*conditions)
    tally = None
    if search is None and spec.count_from is not None:
        answer = spec.count_from(shape, params)
        tally = FixedQuery(answer) if answer is not None else None
    return _Plan(FixedQuery(page), FixedQuery(count), tally)


def _driving_term(spec: ListSpec, shape: tuple[tuple[str, str], ...], order: str) -> int | None:
    """The term whose filter's ``PageIndex`` can produce the page in this order, if any."""
    for i, (name, op) in enumerate(shape):
        index = spec.filters[name].page_index
        if index is not None and op == "$eq" and order in index.orders:
            return i
    return None


def _search_condition(q: Any, text: SearchText, prefetched: bool) -> ColumnElement[bool]:
    if not isinstance(q, Prefetched):
        condition: ColumnElement[bool] = q(text)
        return condition
    if prefetched:
        return q.build(text, bindparam("q_ids", type_=ARRAY(String)))
    return q.fallback(text)


async def run_list(
    session: AsyncSession,
    spec: ListSpec,
    params: Mapping[str, Any],
    *,
    bind: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Count, fetch one page and render it: ``{plural: [...], count, offset, limit}``.

    ``bind``: the values of the bind parameters in ``spec.scope``. When ``spec.count_from``
    answers the request's filters (without ``q``) from a maintained tally, ``count`` comes from
    it instead of counting the rows.
    """
    request = parse_list_request(spec, params)
    ctx = RenderContext(session)
    connection = await ctx.driver()
    values: dict[str, Any] = {
        **(bind or {}),
        "page_limit": request.limit,
        "page_offset": request.offset,
    }
    for i, (_, _, value) in enumerate(request.terms):
        values[_term_key(i)] = value
        if isinstance(value, list) and value:  # a page index reads one value (``PageIndex``)
            values[f"{_term_key(i)}_first"] = value[0]
    search, prefetched = request.search, False
    if search is not None:
        values.update(search.values)
        if isinstance(spec.q, Prefetched):
            prefetch: Prefetched = spec.q
            ids_query = _cached(
                spec,
                ("ids", search.shape, prefetch.limit),
                lambda: FixedQuery(prefetch.ids(search).limit(prefetch.limit + 1)),
            )
            ids = [r[0] for r in await ids_query.records(session, connection=connection, **values)]
            prefetched = len(ids) <= prefetch.limit
            if prefetched:
                values["q_ids"] = ids
    shape = tuple((name, op) for name, op, _ in request.terms)
    # The page selects only the columns the requested fields read.
    columns = columns_needed(spec.resource, request.tree)
    form = (shape, search and search.shape, prefetched, request.order, columns)
    plan: _Plan = _cached(
        spec, form, lambda: _build_plan(spec, shape, search, prefetched, request.order, columns)
    )
    rows = await plan.page.rows(session, connection=connection, **values)
    if len(rows) < request.limit and (rows or request.offset == 0):
        # A page that is not full ends the result: the count needs no statement of its own.
        count = request.offset + len(rows)
    else:
        counter = plan.tally or plan.count
        count = int((await counter.records(session, connection=connection, **values))[0][0])
    items = await render(ctx, spec.resource, rows, request.tree)
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
    session: AsyncSession, model: type[M], entity: str, entity_id: str, *scope: Any
) -> M:
    """Load a live (not soft-deleted) row in scope as the ORM instance a command changes, or
    raise the spec's not-found error."""
    table: Any = model  # a mapped class: its ``id`` (and ``deleted_at``) are columns
    query = select(model).where(table.id == entity_id, *scope)
    if hasattr(model, "deleted_at"):
        query = query.where(table.deleted_at.is_(None))
    row = await session.scalar(query)
    if row is None:
        raise not_found(entity, entity_id)
    return row


async def find_or_404(
    session: AsyncSession,
    model: type[Any],
    entity: str,
    entity_id: str,
    *,
    scope: tuple[ColumnElement[bool], ...] = (),
    bind: Mapping[str, Any] | None = None,
) -> Any:
    """The live row in scope as a plain row, for a read that renders it, or the not-found
    error. One statement per model and scope, compiled once and run by the driver; ``scope``
    is a tuple declared once (like ``ListSpec.scope``) whose request values are bind
    parameters, given as ``bind``."""
    query: FixedQuery = _cached_finder(model, scope)
    rows = await query.rows(session, **(bind or {}), entity_id=entity_id)
    if not rows:
        raise not_found(entity, entity_id)
    return rows[0]


_FINDERS: dict[tuple[type, int], tuple[tuple[Any, ...], FixedQuery]] = {}


def _cached_finder(model: type[Any], scope: tuple[Any, ...]) -> FixedQuery:
    found = _FINDERS.get((model, id(scope)))
    if found is None or found[0] is not scope:
        if len(_FINDERS) >= _MAX_PLANS:
            _FINDERS.clear()
        query = rows_of(model).where(model.id == bindparam("entity_id", type_=String), *scope)
        if hasattr(model, "deleted_at"):
            query = query.where(model.deleted_at.is_(None))
        found = _FINDERS[(model, id(scope))] = (scope, FixedQuery(query))
    return found[1]
