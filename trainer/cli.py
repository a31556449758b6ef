"""Command line of the train stage, for torchrun (multi-GPU TrainJob) and plain runs.

    torchrun --nproc_per_node=4 --module shoprank.trainer.cli \\
        --pairs pairs.parquet --out models/candidate --checkpoint-dir models/candidate-checkpoints \\
        --config-json '{"lr": 1e-4, "batch_size": 64}'

Every process trains (DDP when WORLD_SIZE > 1); rank 0 exports and prints the metrics as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os

from shoprank.core.stages.train import run_train_stage
from shoprank.core.training.config import TrainConfig


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="shoprank.trainer.cli", description="Fine-tune and export the reranker.")
    parser.add_argument("--pairs", required=True, help="pairs Parquet (or CSV) with a split column")
    parser.add_argument("--out", required=True, help="model folder to write (hf/, ONNX, manifest.json)")
    parser.add_argument("--checkpoint-dir", default=None, help="persistent checkpoint folder; resumes from it")
    parser.add_argument("--config-json", default="{}", help="TrainConfig fields as a JSON object")
    parser.add_argument("--no-quantize", action="store_true", help="skip the int8 ONNX model")
    parser.add_argument("--sessions", default=None, help="the prepare stage's sessions Parquet: personalise on it "
                        "when enough shoppers have a history (core/clicks/personalise.py)")
    parser.add_argument("--no-personalise", action="store_true", help="train the plain model even with --sessions")
    args = parser.parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING,
                        format=f"%(asctime)s rank{rank} %(name)s %(message)s")
    config = TrainConfig.from_dict(json.loads(args.config_json))
    metrics = run_train_stage(args.pairs, args.out, config, checkpoint_dir=args.checkpoint_dir,
                              quantize=not args.no_quantize, sessions_path=args.sessions,
                              personalise=not args.no_personalise)
    if rank == 0:
        print(json.dumps(metrics, sort_keys=True))
    return metrics


if __name__ == "__main__":
    main()
