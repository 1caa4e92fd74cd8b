"""Arena speed: verification must never be the RL loop's bottleneck.

Prints one table row per model type: verify_step calls/s on a dict action and on completion
text, scenarios generated/s, expert solve time, and — the in-run baseline — how many times the
cost of a bare ``json.loads(json.dumps(action))`` round trip one verify_step costs.
Targets (issue 3): >= 20,000 verify_step/s for personality and facial, >= 5,000 scenarios/s.

    python bench/bench_arena.py [--seconds 0.5] [--out bench/results/arena.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from srlforge.arena import DIFFICULTIES, get_arena, model_types
from srlforge.arena.base import render_completion

TARGET_VERIFY = {"personality": 20_000, "facial": 20_000}
TARGET_SAMPLE = 5_000


def rate(fn, items, seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for item in items:
            fn(item)
        calls += len(items)
    return calls / elapsed


def bench_type(model_type: str, seconds: float) -> dict:
    arena = get_arena(model_type)
    scenarios = [arena.sample(0, i, d) for d in DIFFICULTIES for i in range(20)]
    pairs, texts = [], []
    t0 = time.perf_counter()
    for scenario in scenarios:
        state = arena.reset(scenario)
        for step in arena.solve(scenario):
            pairs.append((state, step.action))
            texts.append((state, render_completion(step)))
            _, state, _ = arena.evaluate_step(state, step.action)
    solve_ms = (time.perf_counter() - t0) / len(scenarios) * 1000
    verify_dict = rate(lambda p: arena.verify_step(p[0], p[1]), pairs, seconds)
    verify_text = rate(lambda p: arena.verify_step(p[0], p[1]), texts, seconds)
    baseline = rate(lambda p: json.loads(json.dumps(p[1])), pairs, seconds)
    keys = [(1000 + i, d) for i in range(200) for d in DIFFICULTIES]
    sample = rate(lambda k: arena.sample(7, k[0], k[1]), keys, seconds)
    episodes = [(s, arena.solve(s)) for s in scenarios]
    episode = rate(lambda e: arena.verify_episode(e[0], e[1]), episodes, seconds)
    return {
        "model_type": model_type,
        "verify_step_per_s": verify_dict,
        "verify_text_per_s": verify_text,
        "x_json_roundtrip": baseline / verify_dict,
        "sample_per_s": sample,
        "solve_ms": solve_ms,
        "verify_episode_per_s": episode,
        "verify_target": TARGET_VERIFY.get(model_type, 5_000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    parser.add_argument("--types", nargs="*", default=model_types())
    parser.add_argument("--out", type=Path, help="also write the table (markdown) here")
    args = parser.parse_args()
    rows = [bench_type(t, args.seconds) for t in args.types]
    header = (
        "| model type | verify_step/s (dict) | verify_step/s (text) | × json round trip "
        "| target | scenarios/s | expert solve ms | verify_episode/s |"
    )
    lines = [header, "|" + "---|" * 8]
    for r in rows:
        ok = "ok" if r["verify_step_per_s"] >= r["verify_target"] else "MISS"
        s_ok = "ok" if r["sample_per_s"] >= TARGET_SAMPLE else "MISS"
        lines.append(
            f"| {r['model_type']} | {r['verify_step_per_s']:,.0f} | {r['verify_text_per_s']:,.0f} "
            f"| {r['x_json_roundtrip']:.1f}× | ≥{r['verify_target']:,} {ok} "
            f"| {r['sample_per_s']:,.0f} ({s_ok}) | {r['solve_ms']:.2f} "
            f"| {r['verify_episode_per_s']:,.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        stamp = time.strftime("%Y-%m-%d")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            f"# Arena speed ({stamp}, {platform.processor() or platform.machine()}, one core, "
            f"Python {platform.python_version()})\n\n`python bench/bench_arena.py --out {args.out}`"
            f"\n\n{table}\n"
        )


if __name__ == "__main__":
    main()
