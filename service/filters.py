"""Attribute filters of the compatibility APIs, evaluated on a passage's flat attributes.

Two filter languages select passages by their attributes (``doc_id``, ``source``, ``title``, ``date``,
character and line offsets, ...): OpenAI's vector store ``filters`` (comparison or compound) and
Dify's ``metadata_condition``. Each is parsed once into a predicate; a malformed filter raises
:class:`FilterError` with a message naming the offending part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Scalar = str | int | float | bool
Attributes = Mapping[str, Scalar]
Predicate = Callable[[Attributes], bool]

MAX_DEPTH = 16
OPENAI_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")


class FilterError(ValueError):
    """A filter that cannot be understood."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ordered(left: Scalar, right: Any) -> tuple[Any, Any] | None:
    """The two values if they can be ordered (two numbers, or two strings), else None."""
    if _is_number(left) and _is_number(right):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _equal(left: Scalar, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    return type(left) is type(right) and left == right


# OpenAI: {"type": "eq", "key": "date", "value": "2025-04-04"} or {"type": "and", "filters": [...]}.


def openai_filter(spec: Any, path: str = "filters", depth: int = 0) -> Predicate:
    """A predicate for an OpenAI comparison or compound filter.

    A comparison on an attribute the passage does not have is false, except ``ne`` and ``nin``.
    ``gt``/``gte``/``lt``/``lte`` compare numbers with numbers and strings with strings (ISO dates
    order correctly); other pairs do not match."""
    if depth > MAX_DEPTH:
        raise FilterError(f"{path}: filters are nested more than {MAX_DEPTH} levels deep")
    if not isinstance(spec, dict):
        raise FilterError(f"{path}: expected an object with a 'type'")
    kind = spec.get("type")
    if kind in ("and", "or"):
        parts = spec.get("filters")
        if not isinstance(parts, list) or not parts:
            raise FilterError(f"{path}.filters: expected a non-empty list of filters")
        predicates = [openai_filter(p, f"{path}.filters[{i}]", depth + 1) for i, p in enumerate(parts)]
        if kind == "and":
            return lambda attrs: all(p(attrs) for p in predicates)
        return lambda attrs: any(p(attrs) for p in predicates)
    if kind not in OPENAI_COMPARISONS:
        raise FilterError(f"{path}.type: expected one of {', '.join((*OPENAI_COMPARISONS, 'and', 'or'))}")
    key = spec.get("key")
    if not isinstance(key, str) or not key:
        raise FilterError(f"{path}.key: expected the name of an attribute")
    if "value" not in spec:
        raise FilterError(f"{path}.value: missing")
    value = spec["value"]
    if kind in ("in", "nin"):
        if not isinstance(value, list) or not all(isinstance(v, str) or _is_number(v) for v in value):
            raise FilterError(f"{path}.value: '{kind}' needs a list of strings or numbers")
    elif not isinstance(value, str | int | float | bool):
        raise FilterError(f"{path}.value: expected a string, number or boolean")
    return _comparison(kind, key, value)


def _comparison(kind: str, key: str, value: Any) -> Predicate:
    def check(attrs: Attributes) -> bool:
        if key not in attrs:
            return kind in ("ne", "nin")
        have = attrs[key]
        if kind == "eq":
            return _equal(have, value)
        if kind == "ne":
            return not _equal(have, value)
        if kind == "in":
            return any(_equal(have, v) for v in value)
        if kind == "nin":
            return not any(_equal(have, v) for v in value)
        pair = _ordered(have, value)
        if pair is None:
            return False
        left, right = pair
        return bool(
            {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[kind]
        )

    return check


# Dify: {"logical_operator": "and", "conditions": [{"name": ["date"], "comparison_operator": "after",
# "value": "2025-01-01"}]}.

DIFY_OPERATORS = (
    "contains",
    "not contains",
    "start with",
    "end with",
    "is",
    "is not",
    "in",
    "not in",
    "empty",
    "not empty",
    "null",
    "not null",
    "=",
    "≠",
    "!=",
    ">",
    "<",
    "≥",
    ">=",
    "≤",
    "<=",
    "before",
    "after",
)
_NEGATIVE = ("not contains", "is not", "not in", "empty", "null", "≠", "!=")


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _as_date(value: Any) -> str | None:
    """An ISO date (``YYYY-MM-DD``) from an ISO string or a Unix timestamp (Dify sends either)."""
    if _is_number(value):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).date().isoformat()
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    return None


def _dify_check(op: str, have: Scalar, value: Any) -> bool:
    text = str(have).lower()
    wanted = value if isinstance(value, list) else [value]
    words = [str(v).lower() for v in wanted]
    if op == "contains":
        return any(w in text for w in words)
    if op == "not contains":
        return not any(w in text for w in words)
    if op == "start with":
        return any(text.startswith(w) for w in words)
    if op == "end with":
        return any(text.endswith(w) for w in words)
    if op in ("is", "in"):
        return text in words
    if op in ("is not", "not in"):
        return text not in words
    if op in ("empty", "null"):
        return text == ""
    if op in ("not empty", "not null"):
        return text != ""
    if op in ("before", "after"):
        have_date, wanted_date = _as_date(have), _as_date(value)
        if have_date is None or wanted_date is None:
            return False
        return have_date < wanted_date if op == "before" else have_date > wanted_date
    left, right = _as_number(have), _as_number(value)
    if left is None or right is None:
        return op in ("≠", "!=")
    return {
        "=": left == right,
        "≠": left != right,
        "!=": left != right,
        ">": left > right,
        "<": left < right,
        "≥": left >= right,
        ">=": left >= right,
        "≤": left <= right,
        "<=": left <= right,
    }[op]


def dify_condition(spec: Any, path: str = "metadata_condition") -> Predicate:
    """A predicate for a Dify ``metadata_condition``.

    ``name`` may be one field or a list of fields (the condition holds if it holds for any of
    them). A field the passage does not have counts as empty: it matches ``empty``, ``not
    contains``, ``is not``, ``not in`` and ``≠`` and nothing else. Numbers compare numerically,
    ``before``/``after`` compare dates (ISO strings or Unix timestamps)."""
    if not isinstance(spec, dict):
        raise FilterError(f"{path}: expected an object with 'conditions'")
    logical = spec.get("logical_operator") or "and"
    if logical not in ("and", "or"):
        raise FilterError(f"{path}.logical_operator: expected 'and' or 'or'")
    conditions = spec.get("conditions")
    if not isinstance(conditions, list):
        raise FilterError(f"{path}.conditions: expected a list")
    predicates: list[Predicate] = []
    for i, condition in enumerate(conditions):
        where = f"{path}.conditions[{i}]"
        if not isinstance(condition, dict):
            raise FilterError(f"{where}: expected an object")
        names = condition.get("name")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise FilterError(f"{where}.name: expected a field name or a list of field names")
        op = condition.get("comparison_operator")
        if op not in DIFY_OPERATORS:
            raise FilterError(f"{where}.comparison_operator: expected one of {', '.join(DIFY_OPERATORS)}")
        value = condition.get("value")
        if value is None and op not in ("empty", "not empty", "null", "not null"):
            raise FilterError(f"{where}.value: missing for {op!r}")
        predicates.append(_dify_predicate(list(names), op, value))
    if not predicates:
        return lambda attrs: True
    if logical == "and":
        return lambda attrs: all(p(attrs) for p in predicates)
    return lambda attrs: any(p(attrs) for p in predicates)


def _dify_predicate(names: Sequence[str], op: str, value: Any) -> Predicate:
    def check(attrs: Attributes) -> bool:
        for name in names:
            if name in attrs:
                if _dify_check(op, attrs[name], value):
                    return True
            elif op in _NEGATIVE:
                return True
        return False

    return check
