"""Trigger-maintained tallies: a table's rows counted per key, exact, without counting rows.

A list's ``count`` over a large table costs a scan of every matching row or index entry per
request. A tally table holds, per key (a status triple, a seller…) and per *slot*, the net
number of the source's counted rows. Statement-level triggers on the source add each
statement's net change, read from its transition tables, to the slot of the writing backend
(``pg_backend_pid() % slots``), so concurrent writers seldom share a row; a statement upserts its
rows in key order, so writers that do share a slot lock them in the same order. Readers sum the
matching rows: the sum is transactional like any other read (never stale). ``TRUNCATE`` of the
source empties its tallies; bulk loads that disable triggers (``session_replication_role =
replica``) must call ``<name>_rebuild()`` afterwards.

Migrations create their functions and triggers from these descriptions (0004: order groups,
0007: orders), so what this module emits is part of those migrations: extend it with new
parameters instead of changing what existing descriptions produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Trigger name suffix → when it fires (the transition tables its function reads).
_TIMINGS = {
    "insert": "AFTER INSERT ON {source} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
    "delete": "AFTER DELETE ON {source} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT",
    "update": (
        "AFTER UPDATE ON {source} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT"
    ),
    "truncate": "AFTER TRUNCATE ON {source} FOR EACH STATEMENT",
}


@dataclass(frozen=True)
class Tally:
    """One tally table: the source's counted rows per ``keys`` (its columns besides ``slot`` and
    ``live``). A key column is read from the source column of the same name, or from the SQL
    expression ``expressions`` gives it (a set-returning one, ``unnest(seller_ids)``, counts a
    row once under each of its values)."""

    table: str
    keys: tuple[str, ...]
    expressions: Mapping[str, str] = field(default_factory=dict)

    def _selected(self) -> str:
        return ", ".join(
            f"{self.expressions[key]} AS {key}" if key in self.expressions else key
            for key in self.keys
        )

    def changes(self, rows: str, delta: int, live: str | None) -> str:
        """The key of every counted row of a transition table, with its sign."""
        where = f" WHERE {live}" if live else ""
        return f"SELECT {self._selected()}, {delta} AS delta FROM {rows}{where}"

    def upsert(self, changes: str, slots: int) -> str:
        keys = ", ".join(self.keys)
        return f"""
        INSERT INTO {self.table} AS t (slot, {keys}, live)
        SELECT pg_backend_pid() % {slots}, {keys}, sum(delta)
        FROM ({changes}) AS changes
        GROUP BY {keys}
        HAVING sum(delta) <> 0
        ORDER BY {keys}
        ON CONFLICT (slot, {keys}) DO UPDATE SET live = t.live + EXCLUDED.live;"""

    def rebuild(self, source: str, live: str | None) -> str:
        keys = ", ".join(self.keys)
        where = f" WHERE {live}" if live else ""
        return f"""
    DELETE FROM {self.table};
    INSERT INTO {self.table} (slot, {keys}, live)
    SELECT 0, {keys}, count(*)
    FROM (SELECT {self._selected()} FROM {source}{where}) AS counted
    GROUP BY {keys};"""


@dataclass(frozen=True)
class TallyTriggers:
    """The tallies of one source table and what keeps them: the function ``<name>_apply()``
    its triggers ``<name>_insert``/``_update``/``_delete``/``_truncate`` run, and
    ``<name>_rebuild()``, which recounts every tally from the source's rows.

    ``live``: the condition a source row must meet to be counted (None: every row)."""

    name: str
    source: str
    tallies: tuple[Tally, ...]
    live: str | None = None
    slots: int = 64

    @property
    def _quoted_source(self) -> str:
        return f'"{self.source}"'

    def _apply(self) -> str:
        def upserts(*deltas: tuple[str, int]) -> str:
            return "".join(
                tally.upsert(
                    " UNION ALL ".join(tally.changes(rows, d, self.live) for rows, d in deltas),
                    self.slots,
                )
                for tally in self.tallies
            )

        empty = "".join(f"\n        DELETE FROM {tally.table};" for tally in self.tallies)
        return f"""
CREATE FUNCTION {self.name}_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN{empty}
    ELSIF TG_OP = 'INSERT' THEN{upserts(("new_rows", 1))}
    ELSIF TG_OP = 'DELETE' THEN{upserts(("old_rows", -1))}
    ELSE{upserts(("new_rows", 1), ("old_rows", -1))}
    END IF;
    RETURN NULL;
END
$$
"""

    def _rebuild(self) -> str:
        body = "".join(t.rebuild(self._quoted_source, self.live) for t in self.tallies)
        return (
            f"\nCREATE FUNCTION {self.name}_rebuild() RETURNS void LANGUAGE sql AS $${body}\n$$\n"
        )

    def create(self) -> list[str]:
        """The functions and triggers (the tally tables must exist), then a first count."""
        triggers = [
            f"CREATE TRIGGER {self.name}_{suffix} "
            f"{timing.format(source=self._quoted_source)} EXECUTE FUNCTION {self.name}_apply()"
            for suffix, timing in _TIMINGS.items()
        ]
        return [self._apply(), self._rebuild(), *triggers, f"SELECT {self.name}_rebuild()"]

    def drop(self) -> list[str]:
        return [
            *(f"DROP TRIGGER {self.name}_{s} ON {self._quoted_source}" for s in _TIMINGS),
            f"DROP FUNCTION {self.name}_rebuild()",
            f"DROP FUNCTION {self.name}_apply()",
        ]
