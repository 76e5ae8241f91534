"""Dify's ``metadata_condition``, evaluated on a passage's flat attributes.

``{"logical_operator": "and", "conditions": [{"name": ["date"], "comparison_operator": "after",
"value": "2025-01-01"}]}``, parsed once into a predicate; a malformed condition raises
:class:`FilterError` with a message naming the offending part.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from service.integrations.attributes import Attributes, FilterError, Predicate, Scalar, is_number

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
_NUMERIC = ("=", "≠", "!=", ">", "<", "≥", ">=", "≤", "<=")
_DATES = ("before", "after")
_VALUELESS = ("empty", "not empty", "null", "not null")


def _as_number(value: Any) -> float | None:
    """``value`` as a finite float (a number or a numeric string), else None (too large included)."""
    if not is_number(value) and not isinstance(value, str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "abc"; an integer of hundreds of digits
        return None
    return number if math.isfinite(number) else None


def _as_date(value: Any) -> str | None:
    """An ISO date (``YYYY-MM-DD``) from an ISO string or a Unix timestamp (Dify sends either); None
    when it is neither (or a timestamp outside the years 1..9999)."""
    if is_number(value):
        seconds = _as_number(value)
        if seconds is None:
            return None
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date().isoformat()
        except (ValueError, OverflowError, OSError):  # outside the years 1..9999
            return None
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            return None
    return None


def _check_value(op: str, value: Any, where: str) -> None:
    """Refuse a value ``op`` cannot compare with: a missing one, a number out of range, a non-date."""
    if op in _VALUELESS:
        return
    if value is None:
        raise FilterError(f"{where}.value: missing for {op!r}")
    if op in _DATES and _as_date(value) is None:
        raise FilterError(
            f"{where}.value: {op!r} needs a date (YYYY-MM-DD) or a Unix timestamp of the years 1 to 9999"
        )
    if op in _NUMERIC and _as_number(value) is None:
        raise FilterError(f"{where}.value: {op!r} needs a finite number")


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
        _check_value(op, value, where)
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
