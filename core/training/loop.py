"""Fine-tune the cross-encoder reranker on (query, product text) pairs with graded labels.

One code path for CPU, one GPU (bf16 autocast, pinned memory, non-blocking copies) and
torchrun DDP (WORLD_SIZE > 1: gloo on CPU, nccl on GPU; rank 0 evaluates and writes). The run
is a pure function of (config, data): batch order comes from (seed, epoch), and checkpoints
carry model, optimizer, scheduler, weight average, RNG states and the data position, so a
killed run resumed from its last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from shoprank.core.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from shoprank.core.common.errors import ConfigError, SchemaError
from shoprank.core.training.graphed_step import GRAPH_WIDTH_MULTIPLE, GraphedForwardBackward, graph_safe_attention_mask
from shoprank.core.training.distill import TEACHER_COLUMN, margin_mse_loss, with_teacher_scores
from shoprank.core.training.losses import ranking_loss
from shoprank.core.evaluation.metrics import rank_metrics
from shoprank.core.common.precision import forward_context, resolve_bf16
from shoprank.core.common.progress import ProgressLog
from shoprank.core.text.query_typos import with_misspelt_queries
from shoprank.core.training.config import TrainConfig, run_key
from shoprank.core.training.distributed import DistContext, broadcast, gather, init_distributed
from shoprank.core.clicks.policy import confidence_weights
from shoprank.core.training.model_io import freeze_lowest_layers, load_model, save_hf_model, weights_sha256
from shoprank.core.training.schedule import LinearWarmupDecay, param_groups
from shoprank.core.common.seeding import seed_everything
from shoprank.core.data.pairs import read_pairs
from shoprank.core.training.step_timer import StepTimer
from shoprank.core.training.batches import (collate, data_fingerprint, epoch_batches, field_lengths, fields_whole_share,
                         fitted_max_length, select_by_budget, tokenize_examples)
from shoprank.core.training.weight_average import WeightAverage

log = logging.getLogger(__name__)

# Warn when max_length cuts the product fields of more than this share of training pairs.
FIELDS_CUT_WARNING_SHARE = 0.25
# A step line after the first step (with an ETA), then at least this often (and every log_every steps).
STEP_LINE_INTERVAL_S = 15.0
@dataclasses.dataclass
class _Progress:
    """What a checkpoint needs beyond module states: where we are and early-stopping state."""

    epoch: int = 0
    micro: int = 0                  # next micro-batch of this epoch (per rank)
    step: int = 0                   # optimizer steps done
    best_ndcg: float = -math.inf
    best_step: int = 0
    bad_evals: int = 0
    history: list = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    pairs_seen: int = 0
    last_loss: float = math.nan
    epoch_loss_sum: float = 0.0
    epoch_losses: list = dataclasses.field(default_factory=list)  # mean training loss of each finished epoch
    stop_reason: str = ""


def train(pairs, out_dir: str | Path, config: TrainConfig = TrainConfig(),
          checkpoint_dir: str | Path | None = None, on_validation=None) -> dict:
    """Fine-tune on the 'train' split (early stopping on 'validation'), save the HF model
    (with tokenizer, whose model_max_length is the run's max_length) to out_dir, return a summary.

    With checkpoint_dir, a checkpoint of this exact run there is resumed, and new ones are
    written every config.checkpoint_every steps and at each epoch end.
    on_validation(step, ndcg, train_loss, save): called after each validation of a single-process
    run, e.g. to report to a tuner; save() writes this step's checkpoint to checkpoint_dir (when
    there is one) for the caller to hand on. An exception it raises stops the run.
    """
    import torch

    threads_before = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    dist = init_distributed(config)
    try:
        return _train(read_pairs(pairs), Path(out_dir), config, checkpoint_dir, dist, on_validation)
    finally:
        torch.set_num_threads(threads_before)
        if dist.world_size > 1:
            import torch.distributed

            torch.distributed.destroy_process_group()


def _train(frame, out_dir: Path, config: TrainConfig, checkpoint_dir, dist: DistContext, on_validation=None) -> dict:
    run = _Run(frame, config, checkpoint_dir, dist)
    run.on_validation = on_validation
    run.resume()
    run.loop()
    result = run.finish()
    if dist.is_main:
        save_hf_model(run.core_model, run.tokenizer, out_dir, run.max_length, config.pair_format)
        log.info("train: done after %d steps (%s), best validation ndcg@10 %s, %.1f s", result["steps"],
                 result["stop_reason"], result["validation_ndcg@10"], result["train_seconds"])
    return result


class _Run:
    """One training run: data, model, optimizer and the loop state a checkpoint carries."""

    def __init__(self, frame, config: TrainConfig, checkpoint_dir, dist: DistContext):
        import torch
        from transformers import AutoTokenizer

        from shoprank.core.ranking.encoder import pretrained_model_dir

        self.config, self.checkpoint_dir, self.dist = config, checkpoint_dir, dist
        self.on_validation, self.saved_at = None, None  # saved_at: the loop state of the last checkpoint
        if dist.is_main:
            log.info("train: setting up: %d pairs (tokenising, loading the encoder); a step line with an ETA "
                     "follows the first step", len(frame))
        self.fingerprint = data_fingerprint(frame)
        init_dir = config.init_model_dir or pretrained_model_dir()
        self.use_bf16 = resolve_bf16(config.precision, dist.device)
        self.tokenizer = AutoTokenizer.from_pretrained(init_dir)
        self.input_names = [n for n in self.tokenizer.model_input_names
                            if n in ("input_ids", "attention_mask", "token_type_ids")]
        self.pad_id = self.tokenizer.pad_token_id or 0
        self.max_length, self.fields_whole_share = self._max_length(frame)
        frame, self.distill_info = with_teacher(frame, config)
        self.epoch_ex = training_examples(frame, config, self.tokenizer, self.max_length)
        self.train_ex = self.epoch_ex[0]
        valid_frame = frame[frame["split"] == "validation"]
        self.valid_ex = (tokenize_examples(valid_frame, self.tokenizer, self.max_length, config.pair_format)
                         if len(valid_frame) else None)

        self.core_model = load_model(init_dir, config.seed, config.dropout,
                                      packed_dropout=dist.device == "cpu").to(dist.device)
        freeze_lowest_layers(self.core_model, config.frozen_layers)
        self.model = self.core_model
        if dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [torch.device(dist.device).index] if dist.device.startswith("cuda") else None
            self.model = DistributedDataParallel(self.core_model, device_ids=device_ids)
        # Dropout streams differ per rank; a single process keeps the plain seed.
        seed_everything(config.seed + dist.rank)

        self.plan = self._plan_batches()
        self.steps_per_epoch = [math.ceil(len(b) / config.grad_accum) for b in self.plan]
        self.total_steps = min(sum(self.steps_per_epoch), config.max_steps or sum(self.steps_per_epoch))
        warmup_steps = int(round(config.warmup_ratio * self.total_steps))
        # Fused AdamW, as the transformers Trainer uses by default: one pass over the weights per
        # step (MiniLM on 2 CPU cores: 13 ms against 114 for the per-parameter loop).
        self.optimizer = torch.optim.AdamW(
            param_groups(self.core_model, config.weight_decay, config.lr, config.layer_lr_decay), lr=config.lr,
            fused=True)
        self.lr_schedule = LinearWarmupDecay(warmup_steps, self.total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_schedule)
        self.average = WeightAverage(self.core_model, config.ema_decay) if config.ema_decay else None
        self.graphed = self._graphed_step()
        self.key = run_key(config, self.fingerprint, dist.world_size)
        self.progress, self.best_state, self.resumed_from = _Progress(), None, None
        self.timer = StepTimer(dist.device)  # this process's steps only (not checkpointed)
        self.unread_losses: list[list] = []  # per step, its micro-batch losses still on the device
        self.last_step_line: float | None = None  # monotonic time of the last step line (None: none yet)
        if dist.is_main:
            log.info("train: config %s", json.dumps(config.to_dict(), sort_keys=True))
            minutes = f" or {config.max_minutes:g} minutes, whichever ends first," if config.max_minutes else ""
            log.info("train: %d pairs / %d queries (train), %d validation pairs, %d steps (%d warmup)%s device %s%s, "
                     "world %d", len(self.train_ex), len(np.unique(self.train_ex.groups)),
                     0 if self.valid_ex is None else len(self.valid_ex), self.total_steps, warmup_steps, minutes,
                     dist.device, " bf16" if self.use_bf16 else "", dist.world_size)

    def forward_context(self):
        return forward_context(self.dist.device, self.use_bf16)

    def _max_length(self, frame) -> tuple[int, float]:
        """The configured max_length (or one fitted to the pairs), and the share of training pairs
        whose product fields it keeps whole."""
        lengths = field_lengths(_training_rows(frame, self.config), self.tokenizer, self.config.pair_format,
                                self.config.seed)
        fitted = fitted_max_length(lengths, self.tokenizer)
        max_length = self.config.max_length or fitted
        whole = fields_whole_share(lengths, max_length)
        if self.dist.is_main:
            log.info("train: max_length %d (%s): query and product fields whole in %.1f%% of %d sampled training "
                     "pairs (the description may be cut)", max_length,
                     "set" if self.config.max_length else "fitted to the pairs", 100 * whole, len(lengths))
            if whole < 1 - FIELDS_CUT_WARNING_SHARE:
                log.warning("train: max_length %d cuts the product fields (price, category, attributes after the "
                            "title) of %.0f%% of training pairs; max_length %d keeps them whole in %.0f%% "
                            "(max_length None, or 0 on the train component, fits it: longer steps)",
                            max_length, 100 * (1 - whole), fitted, 100 * fields_whole_share(lengths, fitted))
        return max_length, whole

    def _graphed_step(self) -> GraphedForwardBackward | None:
        if not self.config.cuda_graphs:
            return None
        if not self.dist.device.startswith("cuda") or self.dist.world_size > 1:
            log.warning("train: cuda_graphs is on but the run is on %s with %d processes; graphs need a single "
                        "CUDA process, so every step runs eagerly", self.dist.device, self.dist.world_size)
            return None
        return GraphedForwardBackward(self.core_model, self.dist.device)

    def _plan_batches(self) -> list[list[np.ndarray]]:
        """Every epoch's batches for this rank (equal counts on every rank)."""
        config, dist = self.config, self.dist
        plan = []
        for epoch in range(config.epochs):
            batches = run_epoch_batches(self.epoch_ex[epoch], epoch, config)
            per_rank = len(batches) // dist.world_size
            if per_rank == 0:
                raise ConfigError(f"epoch {epoch} has {len(batches)} batches for {dist.world_size} processes; "
                                  f"need more training pairs or a smaller batch_size")
            plan.append(batches[dist.rank :: dist.world_size][:per_rank])
        return plan

    def resume(self) -> None:
        checkpoint = load_checkpoint(self.checkpoint_dir, self.key)
        if checkpoint is None:
            return
        self.core_model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        set_rng_state(checkpoint["rng"][self.dist.rank])
        self.progress = _Progress(**checkpoint["progress"])
        self.best_state = checkpoint.get("best_state")
        if self.average is not None:
            self.average.load_state_dict(checkpoint["average"])
        self.resumed_from = self.progress.step
        log.info("train: resumed from step %d (epoch %d, batch %d)", self.progress.step, self.progress.epoch,
                 self.progress.micro)

    def checkpoint(self) -> None:
        if self.checkpoint_dir is None or self.saved_at == self._position():
            return
        self.saved_at = self._position()
        states = gather(rng_state(), self.dist)
        if self.dist.is_main:
            self.read_losses()
            save_checkpoint(self.checkpoint_dir, {
                "key": self.key, "model": self.core_model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "rng": states,
                "progress": dataclasses.asdict(self.progress), "best_state": self.best_state,
                "average": None if self.average is None else self.average.state_dict(),
            })
            log.info("train: checkpoint at step %d", self.progress.step)

    def host_batch(self, rows) -> dict:
        """One micro-batch on the host (pinned on CUDA, for non-blocking copies)."""
        width_multiple = GRAPH_WIDTH_MULTIPLE if self.graphed is not None else 1
        batch = collate(self.epoch_ex[self.progress.epoch], rows, self.pad_id, width_multiple)
        if self.dist.device.startswith("cuda"):
            batch = {k: v.pin_memory() for k, v in batch.items()}
        return batch

    def forward_backward(self, batch: dict, n_groups: int | None, divisor: int):
        """Add this micro-batch's gradients (loss / divisor); its loss, detached. Reads nothing
        back from the device, so a CUDA graph can capture it."""
        inputs = {k: batch[k] for k in self.input_names}
        if self.graphed is not None and "attention_mask" in inputs:
            inputs["attention_mask"] = graph_safe_attention_mask(inputs["attention_mask"])
        with self.forward_context():
            logits = self.model(**inputs).logits[:, 0]
        loss = ranking_loss(self.config.loss, logits.float(), batch["labels"], batch["weights"], batch["groups"],
                            n_groups=n_groups)
        if "teacher" in batch:
            loss = loss + self.config.distill_weight * margin_mse_loss(logits.float(), batch["teacher"], batch["groups"],
                                                                       n_groups)
        loss = loss / divisor
        loss.backward()
        return loss.detach()

    def read_losses(self) -> None:
        """Fold the losses of the steps run since the last read into the progress (waits for the device)."""
        for micro_losses in self.unread_losses:
            step_loss = sum(float(loss) for loss in micro_losses)
            self.progress.last_loss = step_loss
            self.progress.epoch_loss_sum += step_loss
        self.unread_losses.clear()

    def train_step(self, window) -> None:
        """One optimizer step over len(window) micro-batches (gradient accumulation)."""
        import torch

        started = time.perf_counter()
        self.timer.start()
        if not self.core_model.training:  # validation left it in eval mode (train() walks every module)
            self.model.train()
        micro_losses = []
        for j, rows in enumerate(window):
            batch = self.host_batch(rows)
            # Read on the host, before the copy: the listwise loss needs it and a graph is keyed on it.
            n_groups = int(batch["groups"].max()) + 1 if self.config.loss == "listwise" else None
            # DDP all-reduces gradients only on the last micro-batch of the window.
            sync = j == len(window) - 1 or self.dist.world_size == 1
            with (contextlib.nullcontext() if sync else self.model.no_sync()):
                loss = None
                if self.graphed is not None:
                    loss = self.graphed.run(batch, (n_groups, len(window)), functools.partial(
                        self.forward_backward, n_groups=n_groups, divisor=len(window)))
                if loss is None:
                    batch = {k: v.to(self.dist.device, non_blocking=True) for k, v in batch.items()}
                    loss = self.forward_backward(batch, n_groups, len(window))
            micro_losses.append(loss)
            self.progress.pairs_seen += len(rows) * self.dist.world_size
        if self.config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(self.core_model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=self.graphed is None)
        if self.average is not None:
            self.average.update(self.core_model, self.lr_schedule.expected_steps(self.progress.step))
        progress = self.progress
        progress.micro += len(window)
        progress.step += 1
        self.unread_losses.append(micro_losses)
        self.timer.stop()
        progress.train_seconds += time.perf_counter() - started
        if self.config.max_minutes:
            # Every rank follows rank 0's clock (one small broadcast per step, only under a minutes
            # budget), so all stop at the same step with the same lr.
            progress.train_seconds = broadcast(progress.train_seconds, self.dist)
            self.lr_schedule.budget_spent = progress.train_seconds / (60 * self.config.max_minutes)
        self.scheduler.step()
        now = time.monotonic()
        if self.dist.is_main and (progress.step % self.config.log_every == 0 or progress.step == self.total_steps
                                  or self.last_step_line is None or now - self.last_step_line >= STEP_LINE_INTERVAL_S):
            self.last_step_line = now
            self.read_losses()
            minutes = f", {progress.train_seconds / 60:.1f}/{self.config.max_minutes:g} min" if self.config.max_minutes else ""
            log.info("train: step %d/%d%s epoch %d loss %.4f lr %.2e %.1f pairs/s, ETA %s", progress.step,
                     self.total_steps, minutes, progress.epoch + 1, progress.last_loss, self.scheduler.get_last_lr()[0],
                     progress.pairs_seen / max(progress.train_seconds, 1e-9), self._eta())

    def _eta(self) -> str:
        """Time left for the planned steps at the mean step time so far (within a minutes budget;
        validation passes come on top)."""
        progress = self.progress
        left = (self.total_steps - progress.step) * progress.train_seconds / max(progress.step, 1)
        if self.config.max_minutes:
            left = min(left, max(0.0, 60 * self.config.max_minutes - self.progress.train_seconds))
        return f"{int(left // 60)}m{int(left % 60):02d}s"

    def kept_weights(self):
        """Context in which the model holds the weights a run keeps: the average when there is one."""
        return contextlib.nullcontext() if self.average is None else self.average.swapped_into(self.core_model)

    def evaluate(self) -> bool:
        """Validation NDCG@10 of the kept weights (rank 0 computes, all ranks learn it); True when
        patience ran out."""
        progress = self.progress
        ndcg = None
        with self.kept_weights():
            if self.dist.is_main and self.valid_ex is not None:
                ndcg = _validation_ndcg(self.core_model, self.valid_ex, self.dist.device,
                                        self.config.eval_batch_size, self.pad_id, self.input_names,
                                        self.forward_context)
            ndcg = broadcast(ndcg, self.dist)
            improved = ndcg is not None and ndcg > progress.best_ndcg + 1e-4
            if improved:
                # Every rank keeps it: replicas are identical, and all must end on the same weights.
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.core_model.state_dict().items()}
        if ndcg is None:
            return False
        progress.history.append({"step": progress.step, "ndcg@10": ndcg})
        if improved:
            progress.best_ndcg, progress.best_step, progress.bad_evals = ndcg, progress.step, 0
        else:
            progress.bad_evals += 1
        if self.dist.is_main:
            log.info("train: step %d validation ndcg@10 %.4f (best %.4f at step %d)", progress.step, ndcg,
                     progress.best_ndcg, progress.best_step)
        stop = bool(self.config.patience and progress.bad_evals >= self.config.patience)
        progress.stop_reason = "early_stopping" if stop else progress.stop_reason
        if self.on_validation is not None and self.dist.world_size == 1:
            self.read_losses()
            self.on_validation(progress.step, ndcg, progress.last_loss, self.checkpoint)
        return stop

    def _position(self) -> tuple:
        progress = self.progress
        return progress.step, progress.epoch, progress.micro, len(progress.history), progress.stop_reason

    def loop(self) -> None:
        """Epochs of steps until done, out of budget, or early-stopped; checkpoints on the way."""
        config, progress = self.config, self.progress
        stop = bool(progress.stop_reason)
        while not stop and progress.epoch < config.epochs:
            batches = self.plan[progress.epoch]
            while progress.micro < len(batches):
                self.train_step(batches[progress.micro : progress.micro + config.grad_accum])
                mid_epoch = progress.micro < len(batches)
                if progress.step >= self.total_steps and mid_epoch:
                    progress.stop_reason = "max_steps"
                elif config.max_minutes and progress.train_seconds > 60 * config.max_minutes:
                    progress.stop_reason = "max_minutes"
                if config.eval_every and progress.step % config.eval_every == 0 and mid_epoch:
                    stop = self.evaluate()
                if stop or progress.stop_reason:
                    stop = True
                    break
                if config.checkpoint_every and progress.step % config.checkpoint_every == 0:
                    self.checkpoint()
            if progress.micro >= len(batches):
                if self.dist.is_main:
                    log.info("train: epoch %d/%d done (step %d)", progress.epoch + 1, config.epochs, progress.step)
                self.read_losses()
                progress.epoch_losses.append(progress.epoch_loss_sum / self.steps_per_epoch[progress.epoch])
                progress.epoch, progress.micro, progress.epoch_loss_sum = progress.epoch + 1, 0, 0.0
                stop = self.evaluate() or stop
                if progress.step >= self.total_steps and not progress.stop_reason and progress.epoch < config.epochs:
                    progress.stop_reason, stop = "max_steps", True
            elif not progress.history or progress.history[-1]["step"] != progress.step:
                # Stopped mid-epoch by a budget: the model at this step still competes for "best".
                self.evaluate()
            self.checkpoint()
        progress.stop_reason = progress.stop_reason or "completed"

    def finish(self) -> dict:
        """Restore the best validated weights (the average's, with one) and summarise the run."""
        self.read_losses()
        progress = self.progress
        step_seconds = self.timer.seconds()
        if self.best_state is not None and (self.average is not None or progress.best_step != progress.step):
            self.core_model.load_state_dict(self.best_state)
        elif self.average is not None:
            self.average.copy_to(self.core_model)
        return {
            "steps": progress.step,
            "epochs_completed": progress.epoch,
            "schedule_completed": self.lr_schedule.completed(progress.step),
            "stop_reason": progress.stop_reason,
            "best_step": progress.best_step if self.best_state is not None else progress.step,
            "validation_ndcg@10": None if not progress.history else progress.best_ndcg,
            "validation_history": progress.history,
            "final_loss": progress.last_loss,
            "epoch_losses": progress.epoch_losses,
            "train_pairs": len(self.train_ex),
            "train_queries": int(len(np.unique(self.train_ex.groups))),
            "pairs_seen": progress.pairs_seen,
            "train_seconds": round(progress.train_seconds, 3),
            "pairs_per_s": progress.pairs_seen / max(progress.train_seconds, 1e-9),
            "step_seconds_median": float(np.median(step_seconds)) if step_seconds else None,
            "graph_replays": 0 if self.graphed is None else self.graphed.replays,
            "device": self.dist.device,
            "precision": "bf16" if self.use_bf16 else "fp32",
            "max_length": self.max_length,
            "fields_whole_share": self.fields_whole_share,
            "world_size": self.dist.world_size,
            "resumed_from_step": self.resumed_from,
            "data_fingerprint": self.fingerprint,
            "weights_sha256": weights_sha256(self.core_model),
            "config": self.config.to_dict(),
            "distillation": self.distill_info,
        }


def training_examples(frame, config: TrainConfig, tokenizer, max_length: int) -> list:
    """Each epoch's tokenised training pairs: the train split within the pair budget, in the
    config's pair format, without the rows of weight 0.

    Rows of weight 0 are dropped only after formatting, since a "cheap" verdict or a spelling
    note reads all of a query's candidates, as it will when the model serves.
    """
    train_frame = _training_rows(frame, config)
    encode = functools.partial(tokenize_examples, tokenizer=tokenizer, max_length=max_length,
                               pair_format=config.pair_format)
    examples = encode(train_frame).without_zero_weights()
    # Each epoch sees its own seeded misspellings; without them every epoch shares one set.
    return [encode(with_misspelt_queries(train_frame, config.query_typo_rate, config.seed, epoch)).without_zero_weights()
            if config.query_typo_rate > 0 else examples
            for epoch in range(config.epochs)]


def run_epoch_batches(examples, epoch: int, config: TrainConfig) -> list[np.ndarray]:
    """One epoch's batches as the config's run draws them, before they are dealt out to ranks."""
    return epoch_batches(examples, epoch, config.seed, config.batch_size, config.loss != "pointwise",
                         config.list_size)


def with_teacher(frame, config: TrainConfig):
    """(frame with the teacher's standardised scores on the training rows, what distillation did);
    the frame unchanged when it is off (core/training/distill.py)."""
    scored, info = with_teacher_scores(_training_rows(frame, config), config.distill_teacher, config.distill_weight)
    if not info.get("used") or TEACHER_COLUMN not in scored:
        # Off: a column an earlier stage scored (the tune stage) must not distil behind the config's back.
        return frame.drop(columns=[TEACHER_COLUMN], errors="ignore"), info
    return frame.assign(**{TEACHER_COLUMN: scored[TEACHER_COLUMN].reindex(frame.index)}), info


def _training_rows(frame, config: TrainConfig):
    """The train split within the pair budget; positive weights scaled to mean 1 (weight 0 rows kept)."""
    train_frame = frame[frame["split"] == "train"]
    if train_frame.empty:
        raise SchemaError(f"pairs have no rows with split == 'train' (splits present: {sorted(frame['split'].unique())})")
    train_frame = confidence_weights(select_by_budget(train_frame, config.max_pairs, config.seed))
    if "weight" in train_frame:
        kept = train_frame["weight"] > 0
        if not kept.any():
            raise SchemaError("every training pair has weight 0; expected at least one positive weight")
        # Mean 1 keeps the loss (and so the effective learning rate) the size it has unweighted.
        train_frame = train_frame.assign(weight=train_frame["weight"] / train_frame.loc[kept, "weight"].mean())
    return train_frame


def _validation_ndcg(model, examples, device, batch_size, pad_id, input_names, context) -> float | None:
    import pandas as pd
    import torch

    model.eval()
    order = np.argsort(examples.lengths, kind="stable")
    scores = np.zeros(len(examples), dtype=np.float32)
    progress = ProgressLog(log, "train: validation", len(order), "pairs")
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = collate(examples, rows, pad_id)
            with context():
                logits = model(**{k: batch[k].to(device) for k in input_names}).logits[:, 0]
            scores[rows] = logits.float().cpu().numpy()
            progress.advance(len(rows))
    frame = pd.DataFrame({"query_id": examples.query_ids, "product_id": examples.product_ids,
                          "label": examples.labels, "score": scores})
    ndcg = rank_metrics(frame, "score")["ndcg@10"]
    return None if ndcg is None else float(ndcg)  # None: no validation query can be ranked

