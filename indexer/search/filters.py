"""Filters: one tree for every endpoint, parsed once and checked against the snapshot's fields.

The grammar is OpenAI's vector store filters: a comparison ``{"type": "eq", "key": "date", "value":
"2025-04-04"}`` (``eq ne gt gte lt lte in nin``) or a compound ``{"type": "and"|"or", "filters":
[...]}``. Keys are the built-in fields (``doc_id source title date format section page_start page_end``
and the passage offsets) and the metadata keys the build found, each with one type
(:mod:`indexer.snapshot.fields`). A value of the wrong type, an unknown key or a malformed filter is an
:class:`~indexer.errors.InvalidFilterError` naming the offending part.

Meaning: ``eq`` on a list field (``tags``) means "contains"; ``gt``/``gte``/``lt``/``lte`` compare
numbers with numbers, strings (and ISO dates) as strings; a passage without the field matches only
``ne``, ``nin`` (and the negative text operators). Other front ends (Dify's ``metadata_condition``)
build the same tree with :func:`comparison` and :class:`Compound`, using the text operators
``contains``, ``not_contains``, ``starts_with``, ``ends_with`` (case-insensitive) and ``exists``,
``missing``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from indexer.errors import InvalidFilterError
from indexer.snapshot.fields import BUILTIN_FIELDS, CHUNK_FIELDS
from indexer.snapshot.manifest import FieldType, Manifest

COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
"""The public grammar's comparison types."""
TEXT_OPERATORS = ("contains", "not_contains", "starts_with", "ends_with")
PRESENCE = ("exists", "missing")
ORDERED = ("gt", "gte", "lt", "lte")
NEGATIVE = ("ne", "nin", "not_contains", "missing")
"""Operators a passage without the field matches."""
MAX_DEPTH = 16
"""Levels of ``and``/``or`` nesting."""
MAX_NODES = 256
"""Comparisons and groups in one request (a Dify condition on several names counts one per name)."""
MAX_VALUES = 1024
"""Values in one list (``in``, ``nin``, a text operator's list)."""
MAX_TOTAL_VALUES = 4096
"""Values in all of one request's comparisons together."""
MAX_TEXT_CONDITIONS = 16
"""Text comparisons (``contains``...) in one request: each reads every distinct value of its field."""
MAX_PATTERN = 256
"""Characters in a text operator's value."""
MAX_STRING = 4096
MAX_NUMBER = 2**53
"""Numbers are compared as doubles: larger magnitudes are refused rather than rounded."""

Scalar = str | float | bool
Value = Scalar | tuple[Scalar, ...] | None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: FieldType
    multiple: bool = False
    chunk: bool = False
    """A field of each passage (``section``, pages, offsets), not of its document."""


@dataclass(frozen=True, slots=True)
class Comparison:
    op: str
    key: str
    value: Value
    """Normalised to the field's type: a string, a float, a boolean, a tuple of them (``in``), None."""


@dataclass(frozen=True, slots=True)
class Compound:
    op: Literal["and", "or"]
    filters: tuple[Filter, ...]


Filter = Comparison | Compound


def schema_of(manifest: Manifest) -> dict[str, FieldSpec]:
    """The fields a snapshot's filters may name: the built-in ones and its metadata keys."""
    fields = {key: FieldSpec(kind, chunk=key in CHUNK_FIELDS) for key, kind in BUILTIN_FIELDS.items()}
    for key, info in manifest.fields.items():
        fields.setdefault(key, FieldSpec(info.type, multiple=info.multiple))
    return fields


def _fail(path: str, message: str, param: str) -> InvalidFilterError:
    return InvalidFilterError(f"{path}: {message}", param=param)


def _number(value: Any, path: str, param: str, lenient: bool) -> float:
    if lenient and isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(path, f"expected a number, got {value!r}", param) from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, f"expected a number, got {type(value).__name__}", param)
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        raise _fail(path, f"number out of range (at most {MAX_NUMBER} in magnitude)", param)
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise _fail(path, f"number out of range (at most {MAX_NUMBER} in magnitude)", param)
    return number


def _date(value: Any, path: str, param: str, lenient: bool) -> str:
    if lenient and not isinstance(value, bool) and isinstance(value, int | float):
        seconds = _number(value, path, param, lenient)
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            raise _fail(path, "timestamp out of range", param) from None
    if not isinstance(value, str):
        raise _fail(path, f"expected an ISO date (YYYY-MM-DD), got {type(value).__name__}", param)
    text = value.strip()
    try:
        if len(text) > 10:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            dt.date.fromisoformat(text)
    except ValueError:
        raise _fail(path, f"expected an ISO date (YYYY-MM-DD), got {value!r}", param) from None
    return text


def _scalar(kind: FieldType, value: Any, path: str, param: str, lenient: bool) -> Scalar:
    """``value`` checked against (and, with ``lenient``, converted to) a field of type ``kind``."""
    if kind == "number":
        return _number(value, path, param, lenient)
    if kind == "date":
        return _date(value, path, param, lenient)
    if kind == "boolean":
        if lenient and isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise _fail(path, f"expected true or false, got {type(value).__name__}", param)
        return value
    if lenient and not isinstance(value, str) and isinstance(value, int | float):
        value = str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise _fail(path, f"expected a string, got {type(value).__name__}", param)
    if len(value) > MAX_STRING:
        raise _fail(path, f"string longer than {MAX_STRING} characters", param)
    return value


def comparison(
    op: str,
    key: Any,
    value: Any,
    schema: Mapping[str, FieldSpec],
    *,
    path: str = "filters",
    param: str = "filters",
    lenient: bool = False,
) -> Comparison:
    """A checked comparison on ``key``; ``lenient`` converts values written as text (numbers, dates as
    timestamps), as chatbot platforms send them."""
    if op not in (*COMPARISONS, *TEXT_OPERATORS, *PRESENCE):
        raise _fail(f"{path}.type", f"expected one of {', '.join((*COMPARISONS, 'and', 'or'))}", param)
    if not isinstance(key, str) or not key:
        raise _fail(f"{path}.key", "expected the name of a field", param)
    field = schema.get(key)
    if field is None:
        known = ", ".join(sorted(schema))
        raise _fail(f"{path}.key", f"unknown field {key[:100]!r}; this index has: {known}", param)
    where = f"{path}.value"
    if op in PRESENCE:
        return Comparison(op, key, None)
    if op in TEXT_OPERATORS:
        values = value if isinstance(value, list) else [value]
        if not values or len(values) > MAX_VALUES:
            raise _fail(where, f"expected 1 to {MAX_VALUES} strings", param)
        texts = [str(_scalar("string", v, where, param, lenient=True)).lower() for v in values]
        if any(len(t) > MAX_PATTERN or "\x00" in t for t in texts):
            raise _fail(
                where, f"text operators take strings of at most {MAX_PATTERN} characters, no NUL", param
            )
        return Comparison(op, key, tuple(sorted(set(texts))))
    if op in ORDERED and field.type == "boolean":
        raise _fail(f"{path}.type", f"{key!r} is true or false: it has no order", param)
    if op in ("in", "nin"):
        if not isinstance(value, list) or len(value) > MAX_VALUES:
            raise _fail(where, f"'{op}' needs a list of at most {MAX_VALUES} values", param)
        items = tuple(_scalar(field.type, v, f"{where}[{i}]", param, lenient) for i, v in enumerate(value))
        return Comparison(op, key, items)
    if isinstance(value, list) and not lenient:
        raise _fail(where, f"'{op}' compares with one value, not a list", param)
    if isinstance(value, list):  # lenient: a one-item list (Dify sends those) is that item
        if len(value) != 1:
            raise _fail(where, f"'{op}' compares with one value, not a list", param)
        value = value[0]
    return Comparison(op, key, _scalar(field.type, value, where, param, lenient))


class _Parser:
    def __init__(self, schema: Mapping[str, FieldSpec], param: str) -> None:
        self.schema = schema
        self.param = param
        self.nodes = 0

    def parse(self, spec: Any, path: str, depth: int) -> Filter:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(path, f"more than {MAX_NODES} filters", self.param)
        if depth > MAX_DEPTH:
            raise _fail(path, f"filters nested more than {MAX_DEPTH} levels deep", self.param)
        if not isinstance(spec, dict):
            raise _fail(path, "expected an object with a 'type'", self.param)
        kind = spec.get("type")
        if kind in ("and", "or"):
            self._only(spec, ("type", "filters"), path)
            parts = spec.get("filters")
            if not isinstance(parts, list) or not parts:
                raise _fail(f"{path}.filters", "expected a non-empty list of filters", self.param)
            children = tuple(self.parse(p, f"{path}.filters[{i}]", depth + 1) for i, p in enumerate(parts))
            return Compound("and" if kind == "and" else "or", children)
        if kind not in COMPARISONS:
            raise _fail(
                f"{path}.type", f"expected one of {', '.join((*COMPARISONS, 'and', 'or'))}", self.param
            )
        self._only(spec, ("type", "key", "value"), path)
        if "value" not in spec:
            raise _fail(f"{path}.value", "missing", self.param)
        return comparison(kind, spec.get("key"), spec["value"], self.schema, path=path, param=self.param)

    def _only(self, spec: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
        extra = sorted(str(k) for k in spec if k not in allowed)
        if extra:
            raise _fail(
                path, f"unexpected member {extra[0][:100]!r} (expected {', '.join(allowed)})", self.param
            )


def parse_filters(spec: Any, schema: Mapping[str, FieldSpec], *, param: str = "filters") -> Filter:
    """The filter tree of ``spec`` (OpenAI's grammar), checked against ``schema`` and the limits."""
    tree = _Parser(schema, param).parse(spec, param, 0)
    check_limits(tree, param=param)
    return tree


@dataclass(frozen=True, slots=True)
class FilterWork:
    """What evaluating a filter tree costs, counted in its parts."""

    nodes: int
    depth: int
    values: int
    text_conditions: int

    def units(self) -> int:
        """Its cost in the rate limiter's units (one unit: a plain search's work): each text
        comparison costs one, and so does each full 16 other filters (comparisons and groups) and
        each full 256 values; a small filter is free."""
        plain = self.nodes - self.text_conditions
        return self.text_conditions + plain // 16 + self.values // 256


def work(tree: Filter) -> FilterWork:
    """Count ``tree``'s nodes, depth, values and text comparisons (iteratively: any depth is safe)."""
    nodes = values = texts = deepest = 0
    stack: list[tuple[Filter, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        deepest = max(deepest, depth)
        if isinstance(node, Compound):
            stack.extend((child, depth + 1) for child in node.filters)
            continue
        values += len(node.value) if isinstance(node.value, tuple) else 1
        texts += node.op in TEXT_OPERATORS
    return FilterWork(nodes, deepest, values, texts)


def check_limits(tree: Filter, *, param: str = "filters") -> FilterWork:
    """``tree``'s work, or :class:`~indexer.errors.InvalidFilterError` naming the limit it passes."""
    found = work(tree)
    for count, limit, what in (
        (found.nodes, MAX_NODES, "filters (comparisons and groups)"),
        (found.depth, MAX_DEPTH, "levels of nesting"),
        (found.values, MAX_TOTAL_VALUES, "values in all"),
        (found.text_conditions, MAX_TEXT_CONDITIONS, "text comparisons (contains, starts_with, ends_with)"),
    ):
        if count > limit:
            raise _fail(param, f"{count} {what}; the limit is {limit}", param)
    return found
