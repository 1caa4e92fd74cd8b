"""PNG plots of a run: training reward per stage, and held-out success per checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def reward_curves(histories: dict[str, list[dict[str, float]]], path: Path) -> Path | None:
    """One panel per stage: training reward (or loss for SFT/DPO) against the step."""
    stages = [name for name, rows in histories.items() if rows]
    if not stages:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.4), squeeze=False)
    for ax, name in zip(axes[0], stages, strict=True):
        rows = histories[name]
        key = "reward" if any("reward" in r for r in rows) else "loss"
        points = [(r["step"], r[key]) for r in rows if key in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=key)
        success = [(r["step"], r["episode/success"]) for r in rows if "episode/success" in r]
        if success:
            ax.plot([p[0] for p in success], [p[1] for p in success], label="episode success")
        ax.set_title(f"{name}: training {key}")
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def success_by_checkpoint(evals: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """Held-out success rate (and format validity) per checkpoint and split."""
    if not evals:
        return None
    plt = _pyplot()
    names = list(evals)
    splits = list(next(iter(evals.values())).get("splits", {}))
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(names), 3.4))
    width = 0.8 / max(len(splits), 1)
    for j, split in enumerate(splits):
        values = [evals[n]["splits"].get(split, {}).get("success_rate", 0.0) for n in names]
        xs = [i + j * width for i in range(len(names))]
        ax.bar(xs, values, width=width, label=f"success ({split})")
    fmt = [evals[n].get("format_valid_rate", 0.0) for n in names]
    ax.plot(
        [i + 0.4 - width / 2 for i in range(len(names))],
        fmt,
        "k--o",
        label="format valid (in-dist)",
    )
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("rate")
    ax.set_title("held-out evaluation per checkpoint")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
