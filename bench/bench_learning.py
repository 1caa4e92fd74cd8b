"""Learning benchmark (the SRL paper's main table, on an arena): SFT, RLVR, SRL, SFT -> RLVR and
SRL -> RLVR from the same base at an equal optimizer-step budget, over several seeds; held-out
success in-distribution and one difficulty up.

    python bench/bench_learning.py [--model-type personality] [--species vampire] [--seeds 3]
        [--budget 60] [--methods sft,srl] [--out bench/results/learning.md]

The same thing runs as ``srlforge bench learning --model-type personality --json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def main() -> None:
    from trainer_service.benchmark import METHODS, render_markdown, run_learning_benchmark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-type", default="personality")
    parser.add_argument("--species", default="vampire")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--n-examples", type=int, default=64)
    parser.add_argument("--eval-episodes", type=int, default=24)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("bench/results/learning.md"))
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    result = run_learning_benchmark(
        model_type=args.model_type,
        species=args.species or None,
        seeds=args.seeds,
        budget=args.budget,
        methods=args.methods.split(","),
        n_examples=args.n_examples,
        eval_episodes=args.eval_episodes,
        device=args.device,
    )
    text = render_markdown(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(result, indent=2))
    print(text)


if __name__ == "__main__":
    main()
