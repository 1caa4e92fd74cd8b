"""Each provider's documented dataset rules, checked row by row before anything is uploaded.

``validate_rows`` returns a ``ValidationReport``: how many rows were accepted, and for every
rejected row its index, the rule it broke and the provider document that states the rule.
Rejected rows are dropped from the upload only when the caller asks (``drop_invalid``);
otherwise a dataset with any bad row is refused as a whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from paid_ft_service.datasets import estimate_tokens

OPENAI_DOC = "platform.openai.com/docs/guides/fine-tuning (data preparation)"
VERTEX_DOC = "cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning-prepare"
BEDROCK_DOC = "docs.aws.amazon.com/bedrock/latest/userguide/model-customization-prepare.html"
TOGETHER_DOC = "docs.together.ai/docs/fine-tuning-data-preparation"

# Documented minimum example counts (OpenAI: 10); others state none we rely on.
MIN_ROWS = {"openai": 10, "vertex": 1, "bedrock": 1, "together": 1, "anthropic": 2}
# Per-example token ceilings (OpenAI 4o-mini: 65,536; Vertex Gemini: 131,072; Bedrock Haiku:
# 32,000; Together: model context, 8,192 for the smallest catalogued model).
MAX_ROW_TOKENS = {"openai": 65_536, "vertex": 131_072, "bedrock": 32_000, "together": 8_192}
CHAT_ROLES = {"system", "user", "assistant", "tool"}


@dataclass
class RowRejection:
    index: int
    reason: str
    source: str
    row_id: str | None = None


@dataclass
class ValidationReport:
    provider: str
    method: str
    total: int
    accepted: int
    rejected: list[RowRejection] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    estimated_tokens: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.file_errors

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def summary(self) -> str:
        head = f"{self.provider}/{self.method}: {self.accepted}/{self.total} rows accepted"
        lines = [head, *(f"  file: {e}" for e in self.file_errors)]
        lines += [f"  row {r.index}: {r.reason}" for r in self.rejected[:20]]
        if len(self.rejected) > 20:
            lines.append(f"  … and {len(self.rejected) - 20} more rejected rows")
        return "\n".join(lines)


class RowError(ValueError):
    pass


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"{where} must be non-empty text")
    return value


def _messages(messages: Any, *, last: str | None, need_assistant: bool) -> None:
    if not isinstance(messages, list) or not messages:
        raise RowError("'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in CHAT_ROLES:
            raise RowError(f"messages[{i}].role must be one of {sorted(CHAT_ROLES)}")
        _text(m.get("content"), f"messages[{i}].content")
    if last and messages[-1]["role"] != last:
        raise RowError(f"the last message must have role '{last}', got '{messages[-1]['role']}'")
    if need_assistant and not any(m["role"] == "assistant" for m in messages):
        raise RowError("at least one assistant message is required")


def _only_keys(row: dict[str, Any], allowed: set[str]) -> None:
    extra = set(row) - allowed
    if extra:
        raise RowError(f"unexpected top-level keys {sorted(extra)}")


def _openai_like(row: dict[str, Any], method: str) -> None:
    if method == "dpo":
        _only_keys(row, {"input", "preferred_output", "non_preferred_output", "tools"})
        if not isinstance(row.get("input"), dict):
            raise RowError("'input' must be an object with 'messages'")
        _messages(row["input"].get("messages"), last="user", need_assistant=False)
        for key in ("preferred_output", "non_preferred_output"):
            out = row.get(key)
            if not isinstance(out, list) or len(out) != 1 or out[0].get("role") != "assistant":
                raise RowError(f"'{key}' must be exactly one assistant message")
            _text(out[0].get("content"), f"{key}[0].content")
        if row["preferred_output"] == row["non_preferred_output"]:
            raise RowError("preferred and non-preferred outputs are identical")
    elif method == "reinforcement":
        _messages(row.get("messages"), last="user", need_assistant=False)
        for key in ("model_type", "scenario", "grading"):
            if key not in row:
                raise RowError(f"reinforcement rows need the grader field '{key}'")
    else:
        _only_keys(row, {"messages", "tools", "parallel_tool_calls"})
        _messages(row.get("messages"), last=None, need_assistant=True)


def _vertex(row: dict[str, Any], method: str) -> None:
    contents = row.get("contents")
    if not isinstance(contents, list) or not contents:
        raise RowError("'contents' must be a non-empty list")
    for i, c in enumerate(contents):
        if not isinstance(c, dict) or c.get("role") not in ("user", "model"):
            raise RowError(f"contents[{i}].role must be 'user' or 'model'")
        parts = c.get("parts")
        if not isinstance(parts, list) or not parts:
            raise RowError(f"contents[{i}].parts must be a non-empty list")
        for j, p in enumerate(parts):
            _text(p.get("text") if isinstance(p, dict) else None, f"contents[{i}].parts[{j}].text")
        if i and c["role"] == contents[i - 1]["role"]:
            raise RowError(f"contents[{i}] repeats role '{c['role']}'; turns must alternate")
    if contents[0]["role"] != "user":
        raise RowError("the first content must come from 'user'")
    want_last = "model" if method == "supervised" else "user"
    if contents[-1]["role"] != want_last:
        raise RowError(f"the last content must come from '{want_last}' for {method}")
    if method == "reinforcement" and not isinstance(row.get("references"), dict):
        raise RowError("reinforcement rows need a 'references' object for the reward endpoint")
    if method == "dpo":
        completions = row.get("completions")
        if not isinstance(completions, list) or len(completions) < 2:
            raise RowError("preference rows need at least two scored 'completions'")


def _bedrock(row: dict[str, Any], method: str) -> None:
    if method == "reinforcement":
        _messages(row.get("messages"), last="user", need_assistant=False)
        if not isinstance(row.get("reference_answer"), dict):
            raise RowError("RFT rows need a 'reference_answer' object for the Lambda grader")
        return
    messages = row.get("messages")
    if row.get("schemaVersion") == "bedrock-conversation-2024":
        if not isinstance(messages, list) or len(messages) < 2:
            raise RowError("'messages' needs a user and an assistant turn")
        for i, m in enumerate(messages):
            content = m.get("content") if isinstance(m, dict) else None
            if not isinstance(content, list) or not content:
                raise RowError(f"messages[{i}].content must be a list of {{text}} blocks")
            _text(content[0].get("text"), f"messages[{i}].content[0].text")
        roles = [m["role"] for m in messages]
    else:
        _only_keys(row, {"system", "messages"})
        if "system" in row:
            _text(row["system"], "'system'")
        if not isinstance(messages, list) or len(messages) < 2:
            raise RowError("'messages' needs a user and an assistant turn")
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                raise RowError(f"messages[{i}] must be an object")
            _text(m.get("content"), f"messages[{i}].content")
        roles = [m.get("role") for m in messages]
    expected = ["user", "assistant"] * (len(roles) // 2 + 1)
    if roles != expected[: len(roles)] or roles[-1] != "assistant":
        raise RowError("messages must alternate user/assistant from user, ending with assistant")


def _anthropic(row: dict[str, Any], method: str) -> None:
    for key in ("prompt", "completion", "model_type", "scenario"):
        if key not in row:
            raise RowError(f"prompt-optimisation rows need '{key}'")


CHECKS = {
    "openai": (_openai_like, OPENAI_DOC),
    "vertex": (_vertex, VERTEX_DOC),
    "bedrock": (_bedrock, BEDROCK_DOC),
    "together": (_openai_like, TOGETHER_DOC),
    "anthropic": (_anthropic, "srlforge prompt optimisation"),
}


def validate_rows(
    rows: list[dict[str, Any]], provider: str, method: str, ids: list[str] | None = None
) -> ValidationReport:
    """Check every row against ``provider``'s rules for ``method``; never raises on a bad row."""
    check, source = CHECKS[provider]
    report = ValidationReport(provider, method, total=len(rows), accepted=0)
    limit = MAX_ROW_TOKENS.get(provider)
    for i, row in enumerate(rows):
        row_id = ids[i] if ids and i < len(ids) else None
        try:
            if not isinstance(row, dict):
                raise RowError(f"each line must be a JSON object, got {type(row).__name__}")
            check(row, method)
            tokens = estimate_tokens(json.dumps(row, ensure_ascii=False))
            if limit and tokens > limit:
                raise RowError(f"~{tokens} tokens, over the {limit}-token example limit")
        except RowError as exc:
            report.rejected.append(RowRejection(i, str(exc), source, row_id))
            continue
        report.accepted += 1
        report.estimated_tokens += tokens
    minimum = MIN_ROWS.get(provider, 1)
    if report.accepted < minimum:
        report.file_errors.append(
            f"{report.accepted} valid rows; {provider} needs at least {minimum} ({source})"
        )
    return report


def parse_jsonl(data: bytes) -> tuple[list[Any], list[RowRejection]]:
    """Lines of a JSONL upload; lines that are not JSON become rejections."""
    rows, bad = [], []
    for i, line in enumerate(data.decode("utf-8", errors="replace").splitlines()):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            bad.append(RowRejection(i, f"line is not JSON: {exc.msg}", "JSON Lines"))
            rows.append(None)
    return rows, bad
