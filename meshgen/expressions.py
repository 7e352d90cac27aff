"""Equations written as strings, compiled to functions without `eval` of user code.

An expression is parsed with Python's `ast`, every node is checked against a
whitelist (arithmetic, comparisons, numbers, declared names, a fixed set of math
functions), parameters are replaced by their values, and the checked tree is
printed back as the body of a generated function. Only that generated source, made
of whitelisted pieces, is compiled. The same source serves numpy (vectorised over
arrays, for meshing) and numba (scalar, for kernels).

`^` means power, as neuroscientists write it (`v^2`); Python's `**` works too.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

# name in the equations -> numpy function in the generated source
FUNCTIONS = {
    "exp": "np.exp", "log": "np.log", "log10": "np.log10", "sqrt": "np.sqrt",
    "sin": "np.sin", "cos": "np.cos", "tan": "np.tan", "tanh": "np.tanh",
    "sinh": "np.sinh", "cosh": "np.cosh", "arctan": "np.arctan", "abs": "np.abs",
    "minimum": "np.minimum", "maximum": "np.maximum", "where": "np.where",
}
CONSTANTS = {"pi": float(np.pi), "e": float(np.e)}

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod)
_UNARY = (ast.UAdd, ast.USub)
_COMPARE = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_EQUATION = re.compile(r"^\s*d\s*([A-Za-z_]\w*)\s*/\s*dt\s*=(.*)$", re.S)


@dataclass(frozen=True)
class CompiledExpression:
    """An expression turned into a function of `arguments`."""

    text: str
    arguments: tuple[str, ...]
    body: str  # Python source of the checked expression, parameters inlined
    function: object  # numpy-vectorised callable

    def source(self, name: str = "expression") -> str:
        return f"def {name}({', '.join(self.arguments)}):\n    return {self.body}\n"


def parse_equation(text: str, key: str | None = None) -> tuple[str, str]:
    """Split `"dv/dt = rhs"` into ("v", "rhs")."""
    match = _EQUATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ConfigError(f"expected an equation of the form 'dv/dt = ...', got {text!r}", key=key)
    return match.group(1), match.group(2).strip()


def compile_expression(text: str, arguments: tuple[str, ...] | list[str],
                       parameters: dict[str, float], key: str | None = None) -> CompiledExpression:
    """Check `text` and compile it to a function of `arguments`.

    Names may be arguments, parameters (inlined as numbers), `pi`, `e`, or calls of
    the functions in FUNCTIONS. Anything else is a ConfigError naming `key`.
    """
    arguments = tuple(arguments)
    try:
        # `^` is power here; swap it before parsing so it gets `**`'s precedence.
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"cannot parse expression {text!r}: {exc.msg}", key=key) from None
    known = set(arguments) | set(parameters) | set(CONSTANTS)
    body = _Printer(arguments, parameters, known, text, key).visit(tree.body)
    namespace = {"np": np, "__builtins__": {}}
    source = f"def _expression({', '.join(arguments)}):\n    return {body}\n"
    exec(compile(source, f"<expression {text!r}>", "exec"), namespace)  # noqa: S102 - checked tree
    return CompiledExpression(text=text, arguments=arguments, body=body,
                              function=namespace["_expression"])


class _Printer(ast.NodeVisitor):
    """Print a whitelisted expression tree back to source; reject everything else."""

    def __init__(self, arguments, parameters, known, text, key):
        self.arguments = arguments
        self.parameters = parameters
        self.known = known
        self.text = text
        self.key = key

    def fail(self, what: str):
        raise ConfigError(f"{what} in expression {self.text!r}", key=self.key)

    def generic_visit(self, node):
        self.fail(f"'{type(node).__name__}' is not allowed")

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.fail(f"constant {node.value!r} is not a number")
        return repr(float(node.value))

    def visit_Name(self, node):
        name = node.id
        if name in self.arguments:
            return name
        if name in self.parameters:
            return f"({float(self.parameters[name])!r})"
        if name in CONSTANTS:
            return repr(CONSTANTS[name])
        if name in FUNCTIONS:
            self.fail(f"function '{name}' used without a call")
        close = difflib.get_close_matches(name, sorted(self.known | set(FUNCTIONS)), n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        valid = ", ".join(sorted(self.known - set(CONSTANTS)))
        self.fail(f"unknown name '{name}'{hint} (known: {valid})")

    def visit_BinOp(self, node):
        if not isinstance(node.op, _BINARY):
            self.fail(f"operator '{type(node.op).__name__}' is not allowed")
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
                  ast.Mod: "%"}[type(node.op)]
        return f"({self.visit(node.left)} {symbol} {self.visit(node.right)})"

    def visit_UnaryOp(self, node):
        if not isinstance(node.op, _UNARY):
            self.fail(f"operator '{type(node.op).__name__}' is not allowed")
        return f"({'-' if isinstance(node.op, ast.USub) else '+'}{self.visit(node.operand)})"

    def visit_Compare(self, node):
        if len(node.ops) != 1 or not isinstance(node.ops[0], _COMPARE):
            self.fail("only single comparisons (a < b) are allowed")
        symbol = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
                  ast.NotEq: "!="}[type(node.ops[0])]
        # Comparisons count as 0/1 in arithmetic, as in "1000 + 500*(t > 0.5)".
        return f"(1.0 * ({self.visit(node.left)} {symbol} {self.visit(node.comparators[0])}))"

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = getattr(node.func, "id", type(node.func).__name__)
            self.fail(f"function '{name}' is not allowed (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            self.fail("keyword arguments are not allowed")
        args = ", ".join(self.visit(arg) for arg in node.args)
        return f"{FUNCTIONS[node.func.id]}({args})"
