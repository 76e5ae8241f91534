"""Dify's ``metadata_condition`` translated into the engine's filter tree (:mod:`indexer.search`).

``{"logical_operator": "and", "conditions": [{"name": ["date"], "comparison_operator": "after",
"value": "2025-01-01"}]}``. ``name`` may be one field or several (the condition holds if it holds for
any of them). Values are taken as Dify sends them: numbers and booleans may come as text, dates as ISO
strings or Unix timestamps. Text operators are case-insensitive. A field the passage does not have
counts as empty: it matches ``empty``, ``not contains``, ``is not``, ``not in`` and ``≠`` only. An
unknown field or operator is an :class:`~indexer.errors.InvalidFilterError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexer.errors import InvalidFilterError
from indexer.search import Compound, FieldSpec, Filter, comparison
from indexer.search.filters import MAX_NODES, check_limits

PARAM = "metadata_condition"
OPERATORS = {
    "contains": "contains",
    "not contains": "not_contains",
    "start with": "starts_with",
    "end with": "ends_with",
    "is": "eq",
    "is not": "ne",
    "in": "in",
    "not in": "nin",
    "empty": "missing",
    "null": "missing",
    "not empty": "exists",
    "not null": "exists",
    "=": "eq",
    "≠": "ne",
    "!=": "ne",
    ">": "gt",
    "<": "lt",
    "≥": "gte",
    ">=": "gte",
    "≤": "lte",
    "<=": "lte",
    "before": "lt",
    "after": "gt",
}
_NO_VALUE = ("missing", "exists")


def _fail(path: str, message: str) -> InvalidFilterError:
    return InvalidFilterError(f"{path}: {message}", param=PARAM)


def _condition(condition: Any, path: str, schema: Mapping[str, FieldSpec]) -> Filter:
    if not isinstance(condition, dict):
        raise _fail(path, "expected an object")
    names = condition.get("name")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise _fail(f"{path}.name", "expected a field name or a list of field names")
    names = list(dict.fromkeys(names))  # a name given twice is tested once
    if len(names) > MAX_NODES:
        raise _fail(f"{path}.name", f"{len(names)} field names; the limit is {MAX_NODES}")
    operator = condition.get("comparison_operator")
    op = OPERATORS.get(operator) if isinstance(operator, str) else None
    if op is None:
        raise _fail(f"{path}.comparison_operator", f"expected one of {', '.join(OPERATORS)}")
    value = condition.get("value")
    if value is None and op not in _NO_VALUE:
        raise _fail(f"{path}.value", f"missing for {operator!r}")
    if op in ("in", "nin") and not isinstance(value, list):
        value = [value]
    if op in ("eq", "ne") and isinstance(value, list) and len(value) != 1:
        op = "in" if op == "eq" else "nin"  # "is" one of several values
    parts = [
        comparison(op, name, value, schema, path=f"{path}.name[{i}]", param=PARAM, lenient=True)
        for i, name in enumerate(names)
    ]
    return parts[0] if len(parts) == 1 else Compound("or", tuple(parts))


def dify_filter(spec: Any, schema: Mapping[str, FieldSpec]) -> Filter | None:
    """The filter tree of a ``metadata_condition`` (None when it has no conditions)."""
    if not isinstance(spec, dict):
        raise _fail(PARAM, "expected an object with 'conditions'")
    logical = spec.get("logical_operator") or "and"
    if logical not in ("and", "or"):
        raise _fail(f"{PARAM}.logical_operator", "expected 'and' or 'or'")
    conditions = spec.get("conditions")
    if not isinstance(conditions, list):
        raise _fail(f"{PARAM}.conditions", "expected a list")
    if len(conditions) > MAX_NODES:
        raise _fail(f"{PARAM}.conditions", f"{len(conditions)} conditions; the limit is {MAX_NODES}")
    parts = tuple(_condition(c, f"{PARAM}.conditions[{i}]", schema) for i, c in enumerate(conditions))
    if not parts:
        return None
    tree = parts[0] if len(parts) == 1 else Compound("and" if logical == "and" else "or", parts)
    check_limits(tree, param=PARAM)
    return tree
