"""Reading TOML input files: parsing, `--set` overrides and key checking.

Model files (read by `miind mesh`) and simulation files (read by `miind run`) share
this layer. A file's layout is declared once as a `Table` of `Field`s; checking it
turns every problem into a `ConfigError` naming the file and the dotted key, and an
unknown key gets the closest valid one as a suggestion.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError


def load_toml(path: str | Path) -> dict:
    """Parse a TOML file; a missing or malformed file is a ConfigError naming it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", path=str(path)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML: {exc}", path=str(path)) from None


def parse_override_value(text: str) -> Any:
    """A --set value is read as a TOML value (number, string, array, boolean);
    anything that is not valid TOML is taken as a bare string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(document: dict, overrides: list[str], path: str | Path) -> dict:
    """Apply `KEY=VALUE` overrides with dotted keys, in order.

    An element of an array of tables is addressed by its index or by its `name`:
    `population.0.mesh=...` or `population.exc.mesh=...`.
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}", path=str(path))
        key, _, raw = item.partition("=")
        parts = [p for p in key.strip().split(".")]
        if not all(parts):
            raise ConfigError(f"--set has an empty key part in {key!r}", path=str(path))
        node: Any = document
        for depth, part in enumerate(parts[:-1]):
            node = _descend(node, part, parts[: depth + 1], path)
        last = parts[-1]
        if not isinstance(node, dict):
            raise ConfigError(f"--set cannot replace {key!r}: it is not a key of a table",
                              path=str(path))
        node[last] = parse_override_value(raw.strip())
    return document


def _descend(node: Any, part: str, so_far: list[str], path):
    dotted = ".".join(so_far)
    if isinstance(node, list):
        if part.isdigit():
            index = int(part)
            if index >= len(node):
                raise ConfigError(f"--set index {index} is out of range ({len(node)} entries)",
                                  path=str(path), key=dotted)
            return node[index]
        for element in node:
            if isinstance(element, dict) and element.get("name") == part:
                return element
        raise ConfigError(f"--set: no entry named {part!r}", path=str(path), key=dotted)
    if not isinstance(node, dict):
        raise ConfigError("--set: this key is a value, not a table", path=str(path), key=dotted)
    return node.setdefault(part, {})


# ---------------------------------------------------------------------------
# Declarative layouts

Checker = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Field:
    """One key of a table: how to check its value, whether it must be there, its doc."""

    check: Checker
    required: bool = False
    default: Any = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """A table with known keys. `free` checks the values of a table whose keys the
    user chooses (model parameters, say); `array` marks an array of tables."""

    fields: dict[str, "Field | Table"] = field(default_factory=dict)
    free: Checker | None = None
    required: bool = False
    array: bool = False
    doc: str = ""


def check_document(document: dict, layout: Table, path: str | Path) -> dict:
    """Check `document` against `layout`; return a copy with defaults filled in."""
    try:
        return _check_table(document, layout, str(path), "")
    except ConfigError as error:
        raise with_path(error, path) from None


def _check_table(value: Any, layout: Table, path: str, prefix: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError("expected a table", path=path, key=prefix or None)
    result: dict = {}
    for key, item in value.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key in layout.fields:
            continue
        if layout.free is not None:
            result[key] = layout.free(item, dotted)
            continue
        suggestion = difflib.get_close_matches(key, list(layout.fields), n=1, cutoff=0.5)
        hint = f"; did you mean '{suggestion[0]}'?" if suggestion else (
            f"; valid keys: {', '.join(sorted(layout.fields))}" if layout.fields else "")
        raise ConfigError(f"unknown key '{key}'{hint}", path=path, key=dotted)
    for key, spec in layout.fields.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if key not in value:
            if spec.required:
                raise ConfigError("missing required key", path=path, key=dotted)
            if isinstance(spec, Table):
                result[key] = [] if spec.array else _check_table({}, spec, path, dotted)
            else:
                result[key] = spec.default
            continue
        item = value[key]
        if isinstance(spec, Table):
            if spec.array:
                if not isinstance(item, list):
                    raise ConfigError("expected an array of tables ([[...]])", path=path, key=dotted)
                result[key] = [_check_table(element, spec, path, f"{dotted}.{i}")
                               for i, element in enumerate(item)]
            else:
                result[key] = _check_table(item, spec, path, dotted)
        else:
            result[key] = spec.check(item, dotted)
    return result


# ---------------------------------------------------------------------------
# Value checkers. Each takes (value, dotted key) and returns the checked value;
# a problem becomes a ConfigError with the key filled in by `checked`.

class ValueProblem(Exception):
    """What a value checker raises about a value (its message); `checked` turns it into a
    ConfigError naming the key. Checkers written elsewhere (solver.sim_file) raise it too."""


def checked(check: Callable[[Any], Any]) -> Checker:
    def run(value: Any, key: str) -> Any:
        try:
            return check(value)
        except ValueProblem as exc:
            raise ConfigError(str(exc), key=key) from None
    return run


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem(f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueProblem(f"expected a finite number, got {value!r}")
    return number


def number(*, positive: bool = False, nonnegative: bool = False) -> Checker:
    def check(value: Any) -> float:
        result = _number(value)
        if positive and result <= 0:
            raise ValueProblem(f"must be positive, got {value!r}")
        if nonnegative and result < 0:
            raise ValueProblem(f"must not be negative, got {value!r}")
        return result
    return checked(check)


def integer(*, positive: bool = False) -> Checker:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueProblem(f"expected a whole number, got {value!r}")
        if positive and value <= 0:
            raise ValueProblem(f"must be a positive whole number, got {value!r}")
        return value
    return checked(check)


def string(*, choices: tuple[str, ...] | None = None) -> Checker:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueProblem(f"expected a string, got {value!r}")
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(value, choices, n=1, cutoff=0.4)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueProblem(f"unknown value {value!r}{hint} (valid: {', '.join(choices)})")
        return value
    return checked(check)


def number_or_string(value: Any) -> float | str:
    if isinstance(value, str):
        if not value.strip():
            raise ValueProblem("expected a number or an expression, got an empty string")
        return value
    return _number(value)


def number_list(*, min_length: int = 0, length: int | None = None) -> Checker:
    def check(value: Any) -> list[float]:
        if not isinstance(value, list):
            raise ValueProblem(f"expected an array of numbers, got {value!r}")
        result = [_number(v) for v in value]
        if length is not None and len(result) != length:
            raise ValueProblem(f"expected {length} numbers, got {len(result)}")
        if len(result) < min_length:
            raise ValueProblem("must not be empty" if min_length == 1
                                else f"expected at least {min_length} numbers")
        return result
    return checked(check)


def string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueProblem(f"expected an array of strings, got {value!r}")
    return list(value)


def anything(value: Any, key: str) -> Any:
    return value


def with_path(error: ConfigError, path: str | Path) -> ConfigError:
    """Fill in the file of an error raised while checking a value."""
    if error.path is None:
        error.path = str(path)
    return error
