"""Graders built from our arena verifier: OpenAI ``python``/``multi`` graders, a Bedrock Lambda.

The grader is the verifier itself, not a re-implementation: the srlforge modules the arena
imports (found by reading their ``import`` statements) are bundled verbatim with the rule data
the arena reads (found by constructing the arena on a recording rule set), and
``grader_runtime.py`` is inlined to load them under a private name. The source is
self-contained: exec'd in an empty namespace with no srlforge installed, ``grade(sample, item)``
replays the answer through the simulator and returns the RLVR reward (episode items) or the
SRL step reward (step items), clipped to [0, 1].
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srlforge.arena import ARENAS, get_arena
from srlforge.rules import RuleSet, load_rules
from srlforge.schema import canonical_json

RUNTIME_PATH = Path(__file__).with_name("grader_runtime.py")
# The arena's modules need only these at run time; the others are imported lazily by code the
# grader never calls (``srlforge.settings`` pulls pydantic-settings for default rule loading).
ROOTS = ("srlforge", "srlforge.schema", "srlforge.rewards", "srlforge.rules", "srlforge.arena")
EXCLUDED = frozenset({"srlforge.settings"})
# OpenAI documents no size limit for a python grader's source; keep well under the 1 MB a JSON
# request body comfortably carries, and fail loudly rather than be truncated.
MAX_SOURCE_BYTES = 512_000
# Pinned in the Lambda package: the bundled srlforge modules are written against pydantic v2.
LAMBDA_REQUIREMENTS = "pydantic>=2.10,<3\n"


@dataclass(frozen=True)
class GraderBundle:
    model_type: str
    source: str  # the full grader source
    digest: str  # sha256 of bundle + rule data: the grader's identity
    modules: tuple[str, ...]
    rule_files: tuple[str, ...]
    rules_version: str

    def manifest(self) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "digest": self.digest,
            "rules_version": self.rules_version,
            "modules": list(self.modules),
            "rule_files": list(self.rule_files),
            "bytes": len(self.source.encode()),
        }


def _module_file(name: str) -> tuple[Path, bool]:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ValueError(f"cannot locate module {name} to bundle it")
    return Path(spec.origin), spec.submodule_search_locations is not None


def _srlforge_imports(source: str, package: str) -> set[str]:
    """Every ``srlforge.*`` module named by an import statement (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "srlforge")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.split(".")[0] != "srlforge":
                continue
            found.add(base)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if importlib.util.find_spec(base) and _is_module(candidate):
                    found.add(candidate)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def collect_modules(arena_module: str) -> dict[str, dict[str, Any]]:
    """The arena module and every srlforge module it reaches through imports."""
    todo = [arena_module, *ROOTS]
    bundle: dict[str, dict[str, Any]] = {}
    while todo:
        name = todo.pop()
        if name in bundle or name in EXCLUDED:
            continue
        path, package = _module_file(name)
        source = path.read_text(encoding="utf-8")
        bundle[name] = {
            "path": "/".join(name.split(".")) + ("/__init__.py" if package else ".py"),
            "package": package,
            "source": source,
        }
        parent = name.rpartition(".")[0]
        todo += [parent] if parent else []
        todo += sorted(_srlforge_imports(source, name if package else parent))
    return dict(sorted(bundle.items()))


class _Recording(dict):
    """A dict that remembers which keys were read (to find the rule files an arena uses)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def _all(self) -> None:
        self.read.update(self.keys())

    def items(self):
        self._all()
        return super().items()

    def values(self):
        self._all()
        return super().values()

    def __iter__(self):
        self._all()
        return super().__iter__()


def rule_files_used(model_type: str, rules: RuleSet) -> list[str]:
    """The rule files the arena reads while building, sampling, solving and verifying."""
    files, raw = _Recording(rules.files), _Recording(rules.raw)
    probe = RuleSet(rules.version, rules.content_hash, rules.root, files, raw)
    arena_cls = get_arena(model_type, rules).__class__
    arena = arena_cls(probe)
    scenario = arena.sample(0, 0, 3)
    arena.verify_episode(scenario, arena.solve(scenario))
    return sorted(files.read | raw.read)


def build_grader_source(model_type: str, rules: RuleSet | None = None) -> GraderBundle:
    """The self-contained grader source for ``model_type`` under ``rules``."""
    rules = rules or load_rules()
    arena_target = ARENAS[model_type]
    modules = collect_modules(arena_target.split(":")[0])
    used = rule_files_used(model_type, rules)
    meta = {
        "model_type": model_type,
        "arena": arena_target,
        "rules": {
            "version": rules.version,
            "content_hash": rules.content_hash,
            "files": {name: rules.raw[name] for name in used},
        },
    }
    digest = hashlib.sha256(canonical_json({"modules": modules, "meta": meta}).encode())
    meta["digest"] = digest.hexdigest()
    runtime = RUNTIME_PATH.read_text(encoding="utf-8")
    header = (
        f"# srlforge grader for model type '{model_type}' · rules {rules.identity} · "
        f"digest {meta['digest'][:16]}\n# Generated by paid_ft_service.graders; bundled "
        f"modules: {', '.join(modules)}.\n"
    )
    source = (
        header
        + runtime
        + "\n\n# ----- generated data ---------------------------------------------------------\n"
        + f"BUNDLE = json.loads({json.dumps(json.dumps(modules))})\n"
        + f"META = json.loads({json.dumps(json.dumps(meta, default=str))})\n"
    )
    size = len(source.encode())
    if size > MAX_SOURCE_BYTES:
        raise ValueError(
            f"grader source for {model_type} is {size} bytes, over {MAX_SOURCE_BYTES}; "
            "trim the bundle (fewer rule files) or raise graders.MAX_SOURCE_BYTES"
        )
    return GraderBundle(
        model_type=model_type,
        source=source,
        digest=meta["digest"],
        modules=tuple(modules),
        rule_files=tuple(used),
        rules_version=rules.identity,
    )


def openai_python_grader(bundle: GraderBundle, image_tag: str | None = None) -> dict[str, Any]:
    grader: dict[str, Any] = {
        "type": "python",
        "name": f"srlforge-{bundle.model_type}-{bundle.digest[:12]}",
        "source": bundle.source,
    }
    if image_tag:
        grader["image_tag"] = image_tag
    return grader


def openai_rft_grader(bundle: GraderBundle, with_format_check: bool = False) -> dict[str, Any]:
    """The grader of an OpenAI reinforcement job: the verifier as a ``python`` grader.

    ``with_format_check`` wraps it in a ``multi`` with a ``string_check`` for ``<action>``
    (10% of the weight, so format alone can never earn more than 0.1). It is off by default:
    OpenAI's guides describe ``multi.graders`` as a map of named graders while the published
    OpenAPI schema declares a single grader there, and the verifier already scores format.
    """
    python = openai_python_grader(bundle)
    if not with_format_check:
        return python
    return {
        "type": "multi",
        "name": f"srlforge-{bundle.model_type}",
        "graders": {
            "verifier": python,
            "has_action": {
                "type": "string_check",
                "name": "has_action",
                "input": "{{sample.output_text}}",
                "reference": "%<action>%",
                "operation": "ilike",
            },
        },
        "calculate_output": "0.9 * verifier + 0.1 * has_action",
    }


def lambda_package(bundle: GraderBundle) -> bytes:
    """A zip for a Bedrock RFT Lambda grader: handler ``lambda_function.lambda_handler``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        # Fixed timestamps: the same bundle gives the same bytes (and the same hash).
        for name, data in (
            ("lambda_function.py", bundle.source),
            ("requirements.txt", LAMBDA_REQUIREMENTS),
            ("srlforge_grader.json", json.dumps(bundle.manifest(), indent=2)),
        ):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()
