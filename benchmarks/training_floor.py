"""How close our CPU training step runs to this machine's matmul rate, and the least time the
default run's matmuls need.

    python benchmarks/training_floor.py [--quick] [--steps N] [--threads N]

A MiniLM training step is almost all matrix products (the six layers' projections and feed-forward,
forward and backward), so the default run on the built-in sample has a floor no code can beat at
a given precision: its matmul FLOPs divided by the rate the machine's BLAS reaches. This counts
those FLOPs from the run's own batch plan (TrainConfig defaults, the sample's train split, each
batch padded to its longest pair as training pads it), measures the BLAS on the layer's shapes
and on 2048^3 (about the best it does), and times our real step (core.training.train, median of
--steps steps) against them. The baseline is the BLAS's own matmul on the same shapes, in the same
precision, run in this process; the ratio printed is the share of that rate our step reaches.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from timing import timed  # benchmarks/timing.py (this script's folder is on sys.path)

HIDDEN, FEED_FORWARD, LAYERS = 384, 1536, 6  # all-MiniLM-L6-v2
SQUARE = 2048
TARGET_MINUTES = 10  # the whole `shoprank run` on the sample, training included


def batch_flops(rows: int, width: int) -> tuple[float, float]:
    """Matmul FLOPs of one training step (forward and the two backward products), as
    (projections and feed-forward, attention scores and mixing)."""
    tokens = rows * width
    linear = tokens * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FEED_FORWARD) + rows * HIDDEN * HIDDEN  # + pooler
    attention = LAYERS * 2 * rows * width * width * HIDDEN
    return 3 * 2 * linear, 3 * 2 * attention


def planned_run(pairs, config) -> list[tuple[int, int]]:
    """(rows, padded width) of every step the config's run takes on these pairs."""
    from transformers import AutoTokenizer

    from shoprank.core.ranking.encoder import pretrained_model_dir
    from shoprank.core.training.loop import run_epoch_batches, training_examples

    tokenizer = AutoTokenizer.from_pretrained(pretrained_model_dir())
    steps = []
    for epoch, examples in enumerate(training_examples(pairs, config, tokenizer, config.max_length)):
        for rows in run_epoch_batches(examples, epoch, config):
            steps.append((len(rows), int(examples.lengths[rows].max())))
    return steps


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first calls pick kernels and fault in memory
    return timed(fn, repeats)[1]


def gemm_rates(tokens: int, dtype, repeats: int) -> dict:
    """GFLOPS of the BLAS on one layer's forward products at `tokens` rows, and on SQUARE^3."""
    import torch

    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=gen).to(dtype)

    x, inner = rand(tokens, HIDDEN), rand(tokens, FEED_FORWARD)
    square, out_proj = rand(HIDDEN, HIDDEN), rand(HIDDEN, FEED_FORWARD)
    down = rand(FEED_FORWARD, HIDDEN)

    def layer():
        for _ in range(4):  # query, key, value, output projections
            x @ square
        x @ out_proj
        inner @ down

    layer_flops = 2 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FEED_FORWARD)
    a, b = rand(SQUARE, SQUARE), rand(SQUARE, SQUARE)
    return {"layer": layer_flops / _median_seconds(layer, repeats) / 1e9,
            "square": 2 * SQUARE**3 / _median_seconds(lambda: a @ b, repeats) / 1e9}


def our_step_seconds(train_pairs, config, steps: int) -> float:
    """Median seconds of our real training step over the run's first `steps` steps."""
    import dataclasses

    from shoprank.core.training.loop import train

    first_steps = dataclasses.replace(config, max_steps=steps, checkpoint_every=0, log_every=10**6)
    with tempfile.TemporaryDirectory() as tmp:
        return train(train_pairs, Path(tmp) / "m", first_steps)["step_seconds_median"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 timed steps and fewer matmul repeats")
    parser.add_argument("--steps", type=int, default=0, help="timed training steps (default 16, 4 with --quick)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch CPU threads")
    args = parser.parse_args()

    import torch

    from shoprank.core.data.pairs import build_pairs
    from shoprank.core.common.precision import resolve_bf16
    from shoprank.core.data.sample.generator import SampleConfig, generate_sample
    from shoprank.core.training.config import TrainConfig

    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    timed_steps = args.steps or (4 if args.quick else 16)
    config = TrainConfig(device="cpu")
    bf16 = resolve_bf16(config.precision, "cpu")
    precision = "bf16" if bf16 else "fp32"
    pairs = build_pairs(generate_sample(SampleConfig(seed=0)).tables)
    # The train split alone: the same batches as the sample's run, without the validation passes.
    train_pairs = pairs[pairs["split"] == "train"]

    plan = planned_run(train_pairs, config)
    flops = np.array([batch_flops(rows, width) for rows, width in plan])
    total = flops.sum()
    tokens = int(np.mean([rows * width for rows, width in plan]))
    print(f"default run on the sample: {len(plan)} steps of {config.batch_size} pairs, width <= {config.max_length}; "
          f"{total / 1e12:.1f} TFLOP of matmuls ({total / len(plan) / 1e9:.0f} GFLOP a step, "
          f"{flops[:, 1].sum() / total:.1%} of it attention); {args.threads} threads, {precision}")

    rates = gemm_rates(tokens, torch.bfloat16 if bf16 else torch.float32, 5 if args.quick else 15)
    floor = {name: total / (rate * 1e9) for name, rate in rates.items()}
    print(f"BLAS matmul rate: {rates['layer']:.0f} GFLOPS on one layer's products ({tokens} tokens), "
          f"{rates['square']:.0f} GFLOPS on {SQUARE}^3")
    print(f"floor for the run's training steps: {floor['square']:.0f} s at the {SQUARE}^3 rate, "
          f"{floor['layer']:.0f} s at the layer rate ({TARGET_MINUTES * 60} s is the whole `shoprank run` target)")

    step_seconds = our_step_seconds(train_pairs, config, timed_steps)
    step_flops = float(np.median(flops[:timed_steps].sum(axis=1)))
    ours = step_flops / step_seconds / 1e9
    projected = step_seconds * len(plan)
    print(f"our step: {step_seconds:.3f} s (median of {timed_steps}), {ours:.0f} GFLOPS; "
          f"ratio ours / BLAS layer rate: {ours / rates['layer']:.2f}; projected training steps {projected:.0f} s")
    print(json.dumps({
        "device": "cpu", "precision": precision, "threads": args.threads, "steps": len(plan),
        "matmul_tflop": round(total / 1e12, 2), "gflop_per_step": round(total / len(plan) / 1e9, 1),
        "gemm_gflops_layer": round(rates["layer"], 1), "gemm_gflops_square": round(rates["square"], 1),
        "floor_seconds_layer": round(floor["layer"]), "floor_seconds_square": round(floor["square"]),
        "step_seconds_ours": round(step_seconds, 3), "gflops_ours": round(ours, 1),
        "ratio_ours_to_layer_rate": round(ours / rates["layer"], 3), "train_seconds_projected": round(projected),
        "timed_steps": timed_steps, "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
