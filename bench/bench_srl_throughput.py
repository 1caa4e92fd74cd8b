"""SRL stage throughput against a plain TRL GRPOTrainer, in one run.

Same base model, same prompts, same GRPOConfig knobs (batch, generations, completion length,
learning rate, beta), same number of optimizer steps. The plain trainer gets a trivial reward
(completion length); the SRL stage adds what srlforge adds: the arena-verified SRL step reward,
dynamic sampling (drop + refill of zero-variance groups) and the adaptive KL callback. The runs
alternate (plain, srl, plain, srl, ...) so machine load hits both alike; the ratio is the median
SRL wall time over the median plain wall time. Target: <= 1.10.

    python bench/bench_srl_throughput.py [--steps 20] [--repeats 2]
        [--out bench/results/srl_throughput.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def trivial_reward(prompts, completions, **_):
    return [len(c) / 100.0 for c in completions]


def run_plain(base: Path, rows: list[dict], steps: int, out: Path, knobs: dict) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(output_dir=str(out), max_steps=steps, **knobs)
    from transformers.trainer_callback import PrinterCallback

    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(base)),
        reward_funcs=[trivial_reward],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": r["prompt"]} for r in rows]),
        processing_class=AutoTokenizer.from_pretrained(str(base)),
    )
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    lengths = [
        log["completions/mean_length"]
        for log in trainer.state.log_history
        if "completions/mean_length" in log
    ]
    return {"seconds": seconds, "completion_tokens_per_step": sum(lengths) / max(len(lengths), 1)}


def run_srl_stage(
    base: Path, rows: list[dict], steps: int, out: Path, knobs: dict, legal: bool = False
) -> dict:
    from trainer_service.stages.srl import SRLConfig, run_srl

    config = SRLConfig(
        output_dir=str(out), max_steps=steps, progress=False, legal_actions=legal, **knobs
    )
    result = run_srl(base, rows, config, resume=False)
    lengths = [r.get("completions/mean_length", 0.0) for r in result.history]
    refills = [r.get("dynamic_sampling/refill_rounds", 0.0) for r in result.history]
    dropped = [r.get("dynamic_sampling/dropped_frac", 0.0) for r in result.history]
    return {
        "seconds": result.seconds,
        "completion_tokens_per_step": sum(lengths) / max(len(lengths), 1),
        "refill_rounds_per_step": sum(refills) / max(len(refills), 1),
        "dropped_frac": sum(dropped) / max(len(dropped), 1),
    }


def main() -> None:
    import torch

    from trainer_service.base_models import build_preset
    from trainer_service.data import expert_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-type", default="personality")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/srl_throughput.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = build_preset(args.model_type, args.preset, progress=False)
    rows = expert_data(args.model_type, n=64, difficulties=[1, 2], seed=0).rows
    knobs = {
        "use_cpu": True,
        "per_device_train_batch_size": 16,
        "num_generations": 4,
        "max_completion_length": 32,
        "learning_rate": 3e-4,
        "beta": 0.02,
        "seed": 0,
        "logging_steps": 1,
        "report_to": "none",
        "disable_tqdm": True,
        "save_strategy": "no",
        "activation_checkpointing": False,
        "generation_kwargs": {"use_cache": True},
    }
    plain, srl, legal = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            plain.append(run_plain(base, rows, args.steps, Path(tmp) / f"plain{i}", knobs))
            srl.append(run_srl_stage(base, rows, args.steps, Path(tmp) / f"srl{i}", knobs))
            legal.append(
                run_srl_stage(base, rows, args.steps, Path(tmp) / f"legal{i}", knobs, legal=True)
            )
    g = statistics.median(r["seconds"] for r in legal)
    p = statistics.median(r["seconds"] for r in plain)
    s = statistics.median(r["seconds"] for r in srl)
    ratio = s / p
    # Per generated token: the two policies drift apart and write different lengths.
    p_tok = statistics.fmean(r["completion_tokens_per_step"] for r in plain)
    s_tok = statistics.fmean(r["completion_tokens_per_step"] for r in srl)
    token_ratio = (s / s_tok) / (p / p_tok)
    lines = [
        "# SRL stage throughput vs plain TRL GRPOTrainer",
        "",
        f"`{args.preset}` {args.model_type} base, {args.steps} optimizer steps per run, batch 16 "
        f"(4 prompts x 4 generations), max 32 new tokens, beta 0.02, {args.threads} torch "
        f"thread(s), {args.repeats} alternating repeats; {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}.",
        "",
        "| trainer | median wall s | s/step | completion tokens/step | refill rounds/step "
        "| dropped groups |",
        "|---|---|---|---|---|---|",
        f"| plain GRPOTrainer, trivial reward | {p:.1f} | {p / args.steps:.2f} | "
        f"{statistics.fmean(r['completion_tokens_per_step'] for r in plain):.1f} | - | - |",
        f"| srlforge SRL stage | {s:.1f} | {s / args.steps:.2f} | "
        f"{statistics.fmean(r['completion_tokens_per_step'] for r in srl):.1f} | "
        f"{statistics.fmean(r['refill_rounds_per_step'] for r in srl):.2f} | "
        f"{statistics.fmean(r['dropped_frac'] for r in srl):.3f} |",
        f"| srlforge SRL stage, legal-action sampling (the pipeline's default) | {g:.1f} | "
        f"{g / args.steps:.2f} | "
        f"{statistics.fmean(r['completion_tokens_per_step'] for r in legal):.1f} | "
        f"{statistics.fmean(r['refill_rounds_per_step'] for r in legal):.2f} | "
        f"{statistics.fmean(r['dropped_frac'] for r in legal):.3f} |",
        "",
        f"**Wall-time ratio SRL / plain: {ratio:.2f}** (target <= 1.10); per generated token "
        f"{token_ratio:.2f}. **Legal-action sampling / plain: {g / p:.2f}.** Runs (s): plain "
        f"{[round(r['seconds'], 1) for r in plain]}, srl {[round(r['seconds'], 1) for r in srl]}, "
        f"legal {[round(r['seconds'], 1) for r in legal]}. Machine load at the end: "
        f"{os.getloadavg()[0]:.1f}.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
