"""CUDA autocast's policy, emulated on CPU: what a method's loss must not do under AMP.

CPU autocast runs the projections (linear, matmul, conv, LSTM) in bf16 as CUDA autocast does,
but its op lists differ: it silently runs `binary_cross_entropy` in fp32 where CUDA autocast
refuses it ("unsafe to autocast"), so a CPU run cannot see that crash. `CudaAutocastPolicy` is a
dispatch mode that, under CPU autocast, records what CUDA would refuse or what would rank on
rounded values:

- `binary_cross_entropy` reached at all (CUDA autocast bans it; use the `_with_logits` form);
- an op that ranks or selects (argmax, topk, sort, max/min over a dim) or turns logits into
  log-probabilities (log_softmax, nll_loss) reading values rounded to bf16/fp16: a low-precision
  tensor, or one computed from one since the last fp32 projection (an upcast of a bf16 logit
  keeps its rounding; sigmoid of it too).
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

aten = torch.ops.aten
LOW = (torch.float16, torch.bfloat16)
BANNED = {aten.binary_cross_entropy}
# ops whose result decides a ranking, a selection or a reward, or makes log-probabilities of logits
RANKING = {aten.argmax, aten.argmin, aten.topk, aten.sort, aten.max, aten.min, aten._log_softmax,
           aten.nll_loss_forward, aten.nll_loss2d_forward}
# an fp32 projection computes new values from its fp32 weights: its output carries no rounding
PROJECTIONS = {aten.mm, aten.addmm, aten.bmm, aten.baddbmm, aten.convolution}


def tensors(tree) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


class CudaAutocastPolicy(TorchDispatchMode):
    """Use inside `torch.autocast("cpu", dtype=torch.bfloat16)`; `violations` lists what CUDA
    autocast would refuse or round."""

    def __init__(self):
        super().__init__()
        self.violations: list[str] = []
        self.rounded = WeakIdKeyDictionary()

    def is_rounded(self, t: torch.Tensor) -> bool:
        return t.dtype in LOW or t in self.rounded

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet, inputs = func.overloadpacket, tensors((args, kwargs or {}))
        if packet in BANNED:
            self.violations.append(f"{packet.__name__}: refused by CUDA autocast")
        # max/min with no dim reduce to a value (a length, a bound), not a ranking
        ranks = packet in RANKING and not (packet in (aten.max, aten.min) and len(args) == 1)
        if ranks and inputs and inputs[0].is_floating_point() and self.is_rounded(inputs[0]):
            rounded_to = inputs[0].dtype if inputs[0].dtype in LOW else "bf16, upcast"
            self.violations.append(f"{packet.__name__}: reads values rounded to {rounded_to}")
        out = func(*args, **(kwargs or {}))
        carries = any(t.is_floating_point() and self.is_rounded(t) for t in inputs)
        if carries and packet not in PROJECTIONS:
            for t in tensors(out):
                if t.is_floating_point() and t.dtype not in LOW:
                    self.rounded[t] = True
        return out
