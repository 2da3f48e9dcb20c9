"""A small declarative schema for case files: every bad value gets one message naming its field.

A :class:`Table` lists its :class:`Field` s; ``Table.check(data, path)`` returns a plain dict with defaults filled
in, or raises :class:`femqled.errors.InputError` naming the dotted path (``layer[2].thickness_nm``) and what is
allowed. Unknown keys are errors too (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from femqled.errors import InputError

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    """One key: its type (float, int, str, bool, a Table, or a list of either), default and allowed values."""

    type: Any
    default: Any = REQUIRED
    doc: str = ""
    min: float | None = None          # inclusive lower bound
    gt: float | None = None           # exclusive lower bound
    max: float | None = None          # inclusive upper bound
    choices: tuple | None = None
    list_of: bool = False
    check: Callable[[Any], str | None] | None = None  # returns a problem text, or None

    def describe(self) -> str:
        parts = []
        if self.choices:
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.gt is not None:
            parts.append(f"> {self.gt:g}")
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)


_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


def _check_scalar(f: Field, value, path: str):
    if f.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(path, f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise InputError(path, f"must be a finite number, got {value!r}")
    elif f.type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(path, f"must be an integer, got {value!r}")
    elif f.type is bool:
        if not isinstance(value, bool):
            raise InputError(path, f"must be true or false, got {value!r}")
    elif f.type is str:
        if not isinstance(value, str):
            raise InputError(path, f"must be a string, got {value!r}")
    if f.choices is not None and value not in f.choices:
        raise InputError(path, f"{value!r} is not allowed; allowed: {f.describe()}")
    bad = ((f.gt is not None and not value > f.gt) or (f.min is not None and value < f.min)
           or (f.max is not None and value > f.max))
    if bad:
        raise InputError(path, f"must be {f.describe()}, got {value!r}")
    if f.check is not None:
        problem = f.check(value)
        if problem:
            raise InputError(path, problem)
    return value


@dataclass(frozen=True)
class Table:
    """A TOML table with known keys; ``open`` tables accept any key whose value passes ``value_field``."""

    fields: dict[str, Field] = field(default_factory=dict)
    doc: str = ""
    open: bool = False
    value_field: Field | None = None

    def check(self, data, path: str = "") -> dict:
        where = path or "case"
        if not isinstance(data, dict):
            raise InputError(where, f"must be a table, got {type(data).__name__}")
        out: dict[str, Any] = {}
        for key in data:
            if key not in self.fields and not self.open:
                allowed = ", ".join(sorted(self.fields)) or "(none)"
                raise InputError(_join(path, key), f"unknown key; allowed here: {allowed}")
        for key, f in self.fields.items():
            p = _join(path, key)
            if key not in data:
                if f.default is REQUIRED:
                    raise InputError(p, f"is required ({f.doc or _TYPE_NAMES.get(f.type, 'a table')})")
                default = f.default() if callable(f.default) else f.default
                out[key] = _check_value(f, default, p) if isinstance(f.type, Table) else default
                continue
            out[key] = _check_value(f, data[key], p)
        if self.open:
            for key in data:
                if key not in self.fields:
                    out[key] = _check_value(self.value_field, data[key], _join(path, key))
        return out


def check_value(f: Field, value, path: str):
    """One value against one field (its type and limits), as :meth:`Table.check` checks each key; InputError
    naming ``path`` otherwise."""
    return _check_value(f, value, path)


def _check_value(f: Field, value, path: str):
    if f.list_of:
        if not isinstance(value, list):
            raise InputError(path, "must be a list (in TOML: [[...]] tables or [a, b])")
        return [_check_one(f, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _check_one(f, value, path)


def _check_one(f: Field, value, path: str):
    if isinstance(f.type, Table):
        return f.type.check(value, path)
    return _check_scalar(f, value, path)


def read_toml(path, field: str, what: str) -> dict:
    """A TOML input file as a dict; a missing file or bad TOML is one InputError naming ``field``."""
    import tomllib
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError(field, f"no such {what}: {path}")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise InputError(field, f"{path} is not valid TOML: {e}") from None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
