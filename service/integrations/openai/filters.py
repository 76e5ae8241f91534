"""OpenAI's vector store ``filters``, evaluated on a passage's flat attributes.

A comparison ``{"type": "eq", "key": "date", "value": "2025-04-04"}`` or a compound
``{"type": "and", "filters": [...]}``, parsed once into a predicate; a malformed filter raises
:class:`FilterError` with a message naming the offending part.
"""

from __future__ import annotations

from typing import Any

from service.integrations.attributes import Attributes, FilterError, Predicate, Scalar, is_number

MAX_DEPTH = 16
OPENAI_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")


def _ordered(left: Scalar, right: Any) -> tuple[Any, Any] | None:
    """The two values if they can be ordered (two numbers, or two strings), else None."""
    if is_number(left) and is_number(right):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _equal(left: Scalar, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    return type(left) is type(right) and left == right


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
        if not isinstance(value, list) or not all(isinstance(v, str) or is_number(v) for v in value):
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
