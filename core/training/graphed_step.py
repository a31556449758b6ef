"""Forward, loss and backward of a training micro-batch replayed as a CUDA graph.

On a GPU, a small encoder's training step is bound by the host launching kernels one by one
(MiniLM-L6, batch 32: about 7 ms of GPU work against 20 ms of launching on an H100), so the GPU
sits idle most of the step. A CUDA graph records the kernels of one batch shape once and
launches them all in a single call. Batches must then come in few shapes: the caller pads their
width to a multiple (graph_width_multiple) and each new (shape, list count, accumulation) key is
captured on its second sighting, at most max_graphs of them; other batches run eagerly, so
every batch still trains.

A replay computes what the eager call computes: gradients accumulate into the same .grad
tensors (created here as zeros; the caller zeroes them in place after each step), and the capture's warm-up runs leave the
gradients and the CUDA RNG as they found them, so a resumed run draws the same dropout masks as
an uninterrupted one.
"""

from __future__ import annotations

import collections
import dataclasses
import logging

log = logging.getLogger(__name__)

GRAPH_WIDTH_MULTIPLE = 16  # pad widths to this under graphs: at most max_length / 16 shapes per row count
_WARMUP_RUNS = 2  # eager runs on a side stream before a capture (lazy cuBLAS and allocator set-up)


def graph_safe_attention_mask(attention_mask):
    """The (batch, width) mask as (batch, width, width): the same additive mask inside a BERT
    encoder, but transformers skips its `torch.all(mask == 1)` check, which reads a value back
    from the GPU and so cannot run inside a graph capture."""
    width = attention_mask.shape[1]
    return attention_mask[:, None, :].expand(-1, width, -1)


@dataclasses.dataclass
class _Captured:
    graph: object
    inputs: dict
    loss: object


class GraphedForwardBackward:
    """Runs `forward_backward(inputs) -> detached loss` through CUDA graphs keyed by batch shape.

    forward_backward must read its tensors only from `inputs`, accumulate gradients into the
    model's .grad tensors, and never read a device value on the host. Every trainable parameter
    gets a zero .grad here; zero it in place (zero_grad(set_to_none=False)), never replace it.
    """

    def __init__(self, model, device: str, max_graphs: int = 32, capture_after: int = 2):
        import torch

        self.model, self.device = model, torch.device(device)
        self.max_graphs, self.capture_after = max_graphs, capture_after
        self.graphs: dict[tuple, _Captured] = {}
        self.sightings: collections.Counter = collections.Counter()
        self.pool = torch.cuda.graph_pool_handle()
        self.replays = 0
        for param in self._params():
            param.grad = torch.zeros_like(param)

    def run(self, host_batch: dict, key: tuple, forward_backward):
        """The loss of this micro-batch (a fresh device tensor) after its gradients were added;
        None when the batch's key has no graph (yet): run it eagerly then."""
        import torch

        key = (tuple((name, tuple(t.shape)) for name, t in sorted(host_batch.items())), *key)
        captured = self.graphs.get(key)
        if captured is None:
            self.sightings[key] += 1
            if self.sightings[key] < self.capture_after or len(self.graphs) >= self.max_graphs:
                return None
            captured = self._capture(key, host_batch, forward_backward)
        for name, tensor in host_batch.items():
            captured.inputs[name].copy_(tensor, non_blocking=True)
        captured.graph.replay()
        self.replays += 1
        # A copy: the graph's loss tensor is overwritten by its next replay.
        return captured.loss.clone()

    def _params(self) -> list:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _capture(self, key: tuple, host_batch: dict, forward_backward) -> _Captured:
        import torch

        inputs = {name: tensor.to(self.device, copy=True) for name, tensor in host_batch.items()}
        params = self._params()
        grads = [p.grad for p in params]
        grads_before = [g.clone() for g in grads]
        rng_before = torch.cuda.get_rng_state(self.device)
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_RUNS):
                forward_backward(inputs)
        torch.cuda.current_stream(self.device).wait_stream(side)
        torch._foreach_copy_(grads, grads_before)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            loss = forward_backward(inputs)
        torch.cuda.set_rng_state(rng_before, self.device)
        if any(p.grad is not g for p, g in zip(params, grads)):
            raise RuntimeError("the captured backward replaced .grad tensors instead of adding into them; "
                               "replays would write gradients the optimizer never reads")
        self.graphs[key] = _Captured(graph, inputs, loss)
        log.info("train: captured CUDA graph %d for batch shape %s", len(self.graphs), dict(key[0]))
        return self.graphs[key]
