"""``runs/<run_id>/report.json``, ``report.md`` and the PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trainer_service.plots import reward_curves, success_by_checkpoint

REPORT_FIELDS = (
    "run_id",
    "species",
    "model_type",
    "base_model",
    "rules_version",
    "dataset",
    "stages",
    "eval",
    "model_id",
    "registered",
)
EVAL_FIELDS = (
    "success_rate",
    "mean_outcome_reward",
    "violation_rate",
    "format_valid_rate",
    "step_similarity",
)


def missing_fields(report: dict[str, Any]) -> list[str]:
    """Report fields the contract requires but ``report`` lacks (empty when complete)."""
    missing = [f for f in REPORT_FIELDS if f not in report]
    missing += [f"dataset.{k}" for k in ("kept", "hash") if k not in report.get("dataset", {})]
    for i, stage in enumerate(report.get("stages", [])):
        missing += [
            f"stages[{i}].{k}" for k in ("name", "steps", "seconds", "metrics") if k not in stage
        ]
    for name, metrics in report.get("eval", {}).items():
        missing += [f"eval.{name}.{k}" for k in EVAL_FIELDS if k not in metrics]
    return missing


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Run {report['run_id']}",
        "",
        f"- model type: **{report['model_type']}**, species: **{report['species']}**",
        f"- base model: `{report['base_model']}` · rules {report['rules_version']}",
        f"- dataset: {report['dataset']['kept']} verified expert trajectories "
        f"({report['dataset'].get('srl_rows', '?')} SRL rows, source "
        f"{report['dataset'].get('source', '?')}), hash `{report['dataset']['hash'][:16]}`",
        f"- registered: {report['registered']} as `{report['model_id']}` "
        f"({report.get('tracker', {}).get('backend', '')}); promoted to production: "
        f"{report.get('promoted', False)}"
        + (f" — {report['tracker']['reason']}" if report.get("tracker", {}).get("reason") else ""),
        f"- wall time: {report.get('wall_seconds', '?')} s on {report.get('device', 'cpu')}",
        "",
        "## Stages",
        "",
        "| stage | steps | seconds | first-quarter reward | last-quarter reward |",
        "|---|---|---|---|---|",
    ]
    for stage in report["stages"]:
        m = stage["metrics"]
        lines.append(
            f"| {stage['name']} | {stage['steps']} | {stage['seconds']:.1f} | "
            f"{_fmt(m.get('reward_first_quarter', m.get('loss_first_quarter', '-')))} | "
            f"{_fmt(m.get('reward_last_quarter', m.get('loss_last_quarter', '-')))} |"
        )
    splits = list(next(iter(report["eval"].values()), {}).get("splits", {}))
    decoding = next(iter(report["eval"].values()), {}).get("decoding", "free")
    lines += ["", "## Held-out evaluation (greedy)", ""]
    if decoding == "legal_actions":
        lines += [
            "Decoded among the arena's legal actions (`legal_actions: true`); the rows marked "
            "*free decoding* are the same checkpoints writing unconstrained text.",
            "",
        ]
    header = "| checkpoint | split | success | outcome | violations/episode | format valid |"
    lines += [header, "|---|---|---|---|---|---|"]
    for name, ev in report["eval"].items():
        for split in splits:
            m = ev["splits"].get(split, {})
            lines.append(
                f"| {name} | {split} | {_fmt(m.get('success_rate'))} | "
                f"{_fmt(m.get('mean_outcome_reward'))} | {_fmt(m.get('violation_rate'))} | "
                f"{_fmt(m.get('format_valid_rate'))} |"
            )
        free = ev.get("unconstrained")
        if free:
            lines.append(
                f"| {name} | {free['split']}, *free decoding* | {_fmt(free.get('success_rate'))} "
                f"| {_fmt(free.get('mean_outcome_reward'))} | {_fmt(free.get('violation_rate'))} "
                f"| {_fmt(free.get('format_valid_rate'))} |"
            )
    lines += ["", "| checkpoint | step similarity | KL to base |", "|---|---|---|"]
    for name, ev in report["eval"].items():
        lines.append(
            f"| {name} | {_fmt(ev['step_similarity'])} | {_fmt(ev.get('kl_to_reference'))} |"
        )
    lines += ["", "![rewards](rewards.png)", "", "![success](success.png)", ""]
    timings = report.get("timings", {})
    if timings:
        lines += ["## Timings (s)", ""]
        lines += [f"- {k}: {v}" for k, v in timings.items()]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], run_dir: Path) -> None:
    missing = missing_fields(report)
    if missing:
        raise ValueError(f"report lacks required fields: {missing}")
    reward_curves(report.get("histories", {}), run_dir / "rewards.png")
    success_by_checkpoint(report["eval"], run_dir / "success.png")
    report["plots"] = [
        p.name for p in (run_dir / "rewards.png", run_dir / "success.png") if p.exists()
    ]
    (run_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    (run_dir / "report.md").write_text(render_markdown(report))
