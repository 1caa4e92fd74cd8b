"""The runtime inlined into every generated grader: load the bundled verifier, score a sample.

``graders.build_grader_source`` appends two assignments (``BUNDLE``, ``META``) to this file's
text, and the result is a self-contained grader: an OpenAI ``python`` grader source (it defines
``grade(sample, item)``) and the ``lambda_function.py`` of a Bedrock Lambda grader (it defines
``lambda_handler(event, context)``). Only the standard library is imported at top level; the
bundled srlforge modules need pydantic, which both runtimes provide (OpenAI's grader image
ships it; the Lambda package pins it in ``requirements.txt``).

The bundled modules are srlforge's own files, unmodified. They are executed under a private
module prefix with an ``__import__`` that maps ``srlforge.*`` to the bundle, so the grader never
touches (or needs) an installed srlforge, and two graders in one process never share state.
"""

from __future__ import annotations

import builtins
import json
import sys
import types
from pathlib import PurePosixPath
from typing import Any

BUNDLE: dict[str, dict[str, Any]] = {}  # "srlforge.x.y" -> {"path", "package", "source"}
META: dict[str, Any] = {}  # model_type, arena, digest, rules {version, content_hash, files}

_REAL_IMPORT = builtins.__import__
_STATE: dict[str, Any] = {}


def _prefix() -> str:
    return "_srlforge_bundle_" + META["digest"][:16]


def _stub_yaml() -> types.ModuleType:
    """srlforge.rules imports yaml to read rule files; the bundle carries them as JSON instead.

    Every attribute of the stub is a class that refuses to parse, so module-level references
    (``yaml.SafeLoader``, ``yaml.YAMLError``) resolve and any actual parse fails loudly.
    """
    stub = types.ModuleType("yaml")

    class YAMLError(Exception):
        pass

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise YAMLError("the grader bundle reads rules from embedded JSON, not YAML")

    def attribute(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__init__": refuse})

    stub.YAMLError = YAMLError
    stub.safe_load = stub.load = refuse
    stub.__getattr__ = attribute
    return stub


def _bundle_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name == "srlforge" or name.startswith("srlforge.")):
        module = _load(name)
        if fromlist:
            for attr in fromlist:
                if f"{name}.{attr}" in BUNDLE:
                    _load(f"{name}.{attr}")
            return module
        return _load("srlforge")
    if level == 0 and name == "yaml":
        try:
            return _REAL_IMPORT(name, globals, locals, fromlist, level)
        except ImportError:
            return _STATE.setdefault("yaml", _stub_yaml())
    return _REAL_IMPORT(name, globals, locals, fromlist, level)


_BUILTINS = dict(builtins.__dict__, __import__=_bundle_import)


def _load(name: str) -> types.ModuleType:
    private = _prefix() + name[len("srlforge") :]
    module = sys.modules.get(private)
    if module is not None:
        return module
    if name not in BUNDLE:
        raise ImportError(f"{name} is not in this grader's bundle")
    parent_name, _, child = name.rpartition(".")
    parent = _load(parent_name) if parent_name else None
    entry = BUNDLE[name]
    module = types.ModuleType(private)
    module.__file__ = "<srlforge-bundle>/" + entry["path"]
    module.__package__ = private if entry["package"] else private.rpartition(".")[0]
    if entry["package"]:
        module.__path__ = []
    module.__builtins__ = _BUILTINS
    # Registered before executing: pydantic and dataclasses resolve annotations through
    # sys.modules[cls.__module__].
    sys.modules[private] = module
    try:
        exec(compile(entry["source"], module.__file__, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(private, None)
        raise
    if parent is not None:
        setattr(parent, child, module)
    return module


def _arena() -> Any:
    arena = _STATE.get("arena")
    if arena is None:
        rules_mod = _load("srlforge.rules")
        spec = META["rules"]
        files = {n: rules_mod.RuleFile.model_validate(d) for n, d in spec["files"].items()}
        ruleset = rules_mod.RuleSet(
            spec["version"],
            spec["content_hash"],
            PurePosixPath("<srlforge-bundle>/rules") / spec["version"],
            files,
            spec["files"],
        )
        module_name, class_name = META["arena"].split(":")
        arena = getattr(_load(module_name), class_name)(ruleset)
        _STATE["arena"] = arena
    return arena


def _steps_of(text: str) -> list[str]:
    """Split an episode answer into per-step texts, one per ``</action>``.

    Anything after the last ``</action>`` that is not blank becomes one more (malformed) step,
    so trailing junk costs a format error instead of being ignored.
    """
    pieces = text.split("</action>")
    steps = [p + "</action>" for p in pieces[:-1]]
    if pieces[-1].strip():
        steps.append(pieces[-1])
    return [s.strip() for s in steps]


def _json_field(item: dict[str, Any], key: str, default: Any) -> Any:
    value = item.get(key, default)
    return json.loads(value) if isinstance(value, str) and key != "grading" else value


def _bundled() -> dict[str, Any]:
    return {
        "arena": _arena(),
        "base": _load("srlforge.arena.base"),
        "rewards": _load("srlforge.rewards"),
        "schema": _load("srlforge.schema"),
    }


def score(output_text: Any, item: dict[str, Any], env: dict[str, Any] | None = None):
    """Reward in [0, 1] plus the verifier's components, for one answer to one item.

    ``env`` supplies the arena and the srlforge modules (default: the bundled ones); the
    service passes the installed ones to score in-process with the very same code.
    """
    env = env or _bundled()
    arena, rewards = env["arena"], env["rewards"]
    scenario = env["schema"].Scenario.model_validate(_json_field(item, "scenario", None))
    text = output_text if isinstance(output_text, str) else ""
    grading = item.get("grading", "episode")
    if grading == "step":
        state = arena.reset(scenario)
        for i, past in enumerate(_json_field(item, "history", [])):
            _, state, _ = arena.evaluate_step(state, past, None, i)
        verdict, _, action = arena.evaluate_step(state, text)
        expert = _json_field(item, "expert_action", None)
        # exclude_unset: compare what the model wrote; a plain dump adds defaults (None) for
        # optional fields the expert also omitted, which would cost similarity for nothing.
        written = action.model_dump(exclude_unset=True) if action else None
        step = rewards.step_reward(verdict, written, expert)
        return {
            "reward": max(0.0, min(1.0, step)),
            "format_valid": float(verdict.format_valid),
            "rule_compliance": verdict.rule_compliance,
        }
    if len(text) > scenario.max_steps * env["base"].MAX_COMPLETION_CHARS:
        return {"reward": 0.0, "format_valid": 0.0, "success": 0.0, "outcome": 0.0}
    steps = _steps_of(text)
    verdict = arena.verify_episode(scenario, steps)
    reward = rewards.episode_reward(arena, scenario, steps)
    return {
        "reward": max(0.0, min(1.0, reward)),
        "success": float(verdict.success),
        "outcome": verdict.outcome_reward,
        "format_valid": float(verdict.format_errors == 0 and bool(steps)),
    }


def grade(sample: dict[str, Any], item: dict[str, Any]) -> float:
    """OpenAI python grader entry point: ``sample.output_text`` scored against ``item``."""
    return score(sample.get("output_text"), item)["reward"]


def lambda_handler(event: Any, context: Any) -> list[dict[str, Any]]:
    """Bedrock RFT Lambda entry point: a list of samples in, ``aggregate_reward_score`` out."""
    samples = event if isinstance(event, list) else [event]
    out = []
    for sample in samples:
        messages = sample.get("messages") or []
        answer = messages[-1].get("content") if messages else ""
        if isinstance(answer, list):  # content blocks
            answer = "".join(b.get("text", "") for b in answer if isinstance(b, dict))
        reference = sample.get("reference_answer") or (sample.get("metadata") or {}).get(
            "reference_answer", {}
        )
        parts = score(answer, reference)
        out.append(
            {
                "id": sample.get("id"),
                "aggregate_reward_score": parts["reward"],
                "metrics_list": [
                    {"name": k, "value": v, "type": "Reward" if k == "reward" else "Metric"}
                    for k, v in parts.items()
                ],
            }
        )
    return out
