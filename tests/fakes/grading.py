"""Local grading as the providers do it: OpenAI graders and Bedrock Lambda graders.

A python grader's source is exec'd in a fresh namespace (as OpenAI runs it in a sandbox with no
srlforge installed, the source must stand alone); a Lambda package is unzipped in memory and its
``lambda_function.lambda_handler`` called with the documented batch event.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import operator
import re
import zipfile
from typing import Any

_TEMPLATE = re.compile(r"\{\{\s*(sample|item)\.([A-Za-z0-9_.]+)\s*\}\}")


def render(template: str, sample: dict[str, Any], item: dict[str, Any]) -> str:
    def lookup(match: re.Match[str]) -> str:
        value: Any = sample if match.group(1) == "sample" else item
        for key in match.group(2).split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, str) else json.dumps(value)

    return _TEMPLATE.sub(lookup, template)


def _like(text: str, pattern: str, flags: int = 0) -> bool:
    regex = "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"
    return re.match(regex, text, flags | re.S) is not None


def compile_python_grader(source: str) -> Any:
    """``grade`` of a python grader source, exec'd in a clean namespace (raises if missing)."""
    namespace: dict[str, Any] = {"__name__": "grader"}
    exec(compile(source, "<python grader>", "exec"), namespace)
    grade = namespace.get("grade")
    if not callable(grade):
        raise ValueError("python grader source does not define grade(sample, item)")
    return grade


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _formula(expr: str, values: dict[str, float]) -> float:
    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in values:
            return values[node.id]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = {"min": min, "max": max}.get(node.func.id)
            if fn:
                return fn(ev(a) for a in node.args)
        raise ValueError(f"unsupported calculate_output expression: {expr}")

    return ev(ast.parse(expr, mode="eval"))


class Grader:
    """A compiled OpenAI grader; ``score(sample, item)`` returns a float."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        kind = spec.get("type")
        if kind == "python":
            self._python = compile_python_grader(spec["source"])
        elif kind == "multi":
            self._subs = {k: Grader(v) for k, v in spec["graders"].items()}
            _formula(spec["calculate_output"], dict.fromkeys(self._subs, 0.0))
        elif kind not in ("string_check", "text_similarity"):
            raise ValueError(f"unsupported grader type {kind!r}")

    def score(self, sample: dict[str, Any], item: dict[str, Any]) -> float:
        kind = self.spec["type"]
        if kind == "python":
            return float(self._python(sample, item))
        if kind == "multi":
            values = {k: g.score(sample, item) for k, g in self._subs.items()}
            return _formula(self.spec["calculate_output"], values)
        text = render(self.spec["input"], sample, item)
        reference = render(self.spec["reference"], sample, item)
        if kind == "text_similarity":
            return difflib.SequenceMatcher(None, text, reference).ratio()
        op = self.spec["operation"]
        result = {
            "eq": text == reference,
            "ne": text != reference,
            "like": _like(text, reference),
            "ilike": _like(text, reference, re.I),
        }[op]
        return float(result)


def run_lambda_package(package: bytes, event: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        source = zf.read("lambda_function.py").decode()
    namespace: dict[str, Any] = {"__name__": "lambda_function"}
    exec(compile(source, "lambda_function.py", "exec"), namespace)
    return namespace["lambda_handler"](event, None)
