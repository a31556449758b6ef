"""torchrun DDP helpers: which process this is, and broadcasting or gathering Python objects across ranks."""

from __future__ import annotations

import dataclasses
import os
from shoprank.core.training.config import TrainConfig

@dataclasses.dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(config: TrainConfig) -> DistContext:
    import torch

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    want_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if world_size <= 1:
        return DistContext(device="cuda" if want_cuda else "cpu")
    import torch.distributed

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if want_cuda:
        torch.cuda.set_device(local_rank)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if want_cuda else "gloo")
    rank = torch.distributed.get_rank()
    return DistContext(rank=rank, world_size=world_size, device=f"cuda:{local_rank}" if want_cuda else "cpu")


def broadcast(value, dist: DistContext):
    if dist.world_size == 1:
        return value
    import torch.distributed

    holder = [value]
    torch.distributed.broadcast_object_list(holder, src=0)
    return holder[0]


def gather(value, dist: DistContext) -> list:
    if dist.world_size == 1:
        return [value]
    import torch.distributed

    out = [None] * dist.world_size
    torch.distributed.all_gather_object(out, value)
    return out
