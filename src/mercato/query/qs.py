"""Parse query strings in the ``qs`` format JS clients send.

``a=1`` → ``{"a": "1"}``; ``a=1&a=2``, ``a[]=1&a[]=2`` and ``a[0]=1&a[1]=2`` → ``{"a": ["1", "2"]}``;
``a[$gte]=x`` → ``{"a": {"$gte": "x"}}`` (nesting allowed: ``a[$in][]=x``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from mercato.errors import invalid

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")

QueryValue = str | list[Any] | dict[str, Any]


def parse_query(query_string: str) -> dict[str, QueryValue]:
    result: dict[str, Any] = {}
    for raw_key, value in parse_qsl(query_string, keep_blank_values=True):
        if "\x00" in raw_key or "\x00" in value:
            raise invalid(f"Invalid request: {raw_key!r} must not contain the NUL character")
        match = _KEY.match(raw_key)
        if not match:
            raise invalid(f"Invalid request: malformed query parameter '{raw_key}'")
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        _assign(result, path, value, raw_key)
    return {key: _lists_from_index_maps(value) for key, value in result.items()}


def _assign(container: dict[str, Any], path: list[str], value: str, raw_key: str) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        if head in container:
            existing = container[head]
            if isinstance(existing, list):
                existing.append(value)
            elif isinstance(existing, str):
                container[head] = [existing, value]
            else:
                raise invalid(f"Invalid request: conflicting values for '{raw_key}'")
        else:
            container[head] = value
        return
    if rest[0] == "":  # a[]=x
        current = container.setdefault(head, [])
        if isinstance(current, str):
            current = container[head] = [current]
        if not isinstance(current, list) or len(rest) > 1:
            raise invalid(f"Invalid request: conflicting values for '{raw_key}'")
        current.append(value)
        return
    current = container.setdefault(head, {})
    if not isinstance(current, dict):
        raise invalid(f"Invalid request: conflicting values for '{raw_key}'")
    _assign(current, rest, value, raw_key)


def _lists_from_index_maps(value: Any) -> Any:
    """``{"0": a, "1": b}`` (from ``a[0]=…``) becomes ``[a, b]``; recursively."""
    if isinstance(value, dict):
        converted = {k: _lists_from_index_maps(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return value
