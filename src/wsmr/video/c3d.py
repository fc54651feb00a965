"""C3D (Tran et al. 2015) with the Sports-1M layout, its weights, and the precision to run it in.

Layer names and shapes follow the widely used PyTorch conversion of the Sports-1M model (a state
dict with keys conv1.weight ... fc8.bias), so that file loads as it is. The features are fc7
after its ReLU (dropout is off in eval mode). Without weights the network gets a seeded
variance-preserving initialisation (Kaiming-normal, zero bias): useful for plumbing and for
what comes and goes with an event, not a stand-in for Sports-1M (docs/features.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from wsmr.download import check_sha256
from wsmr.hardware import cpu_has_native_bf16

log = logging.getLogger("wsmr.c3d")

# C3D's Caffe input is BGR; the Sports-1M mean cube averaged over time and space, per channel
SPORTS1M_MEAN_BGR = (90.2516, 97.6570, 101.4083)
FC7_DIM = 4096
SPORTS1M_CLASSES = 487
SEEDED_INIT = "seeded-init"
# (name, in, out) of the 3D convolutions; a pool follows conv1, conv2, conv3b, conv4b, conv5b
CONVS = (("conv1", 3, 64), ("conv2", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256),
         ("conv4a", 256, 512), ("conv4b", 512, 512), ("conv5a", 512, 512), ("conv5b", 512, 512))
POOLED_AFTER = {"conv1": "pool1", "conv2": "pool2", "conv3b": "pool3", "conv4b": "pool4",
                "conv5b": "pool5"}


class C3D(nn.Module):
    """C3D up to fc7 (fc8 is kept so the Sports-1M state dict loads strictly).

    `width` divides every layer's channels: 1 is the real network; larger values give a tiny
    network with the same layout and clip geometry, for fast tests.
    """

    def __init__(self, width: int = 1):
        super().__init__()
        for name, c_in, c_out in CONVS:
            setattr(self, name, nn.Conv3d(c_in if name == "conv1" else c_in // width,
                                          c_out // width, kernel_size=3, padding=1))
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        for pool in ("pool2", "pool3", "pool4"):
            setattr(self, pool, nn.MaxPool3d(kernel_size=2, stride=2))
        # 112x112x16 -> 512 x 1 x 4 x 4 = 8192, as in the Caffe model
        self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
        fc = FC7_DIM // width
        self.fc6 = nn.Linear(8192 // width, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc8 = nn.Linear(fc, SPORTS1M_CLASSES)
        self.relu = nn.ReLU()

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, 3, 16, 112, 112) normalised clips -> (B, fc7) activations after ReLU."""
        h = clips
        for name, _, _ in CONVS:
            h = self.relu(getattr(self, name)(h))
            if name in POOLED_AFTER:
                h = getattr(self, POOLED_AFTER[name])(h)
        h = self.relu(self.fc6(h.flatten(1)))
        return self.relu(self.fc7(h))


def seeded_init(model: nn.Module, seed: int) -> None:
    """Kaiming-normal weights (fan-in, ReLU gain) and zero biases, from a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv3d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            nn.init.zeros_(module.bias)


def load_weights(model: nn.Module, path: str | Path, expected_sha256: str) -> None:
    """Load a Sports-1M state dict after checking its checksum; never runs pickled code."""
    check_sha256(path, expected_sha256, f"C3D weights {path} (refusing to load them)")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)


def build_c3d(weights: dict | None, seed: int, width: int = 1) -> tuple[C3D, str]:
    """The network in eval mode and the `source` it carries into the features' attrs."""
    if weights and width != 1:
        raise ValueError(f"C3D weights {weights['path']} are for the whole network: "
                         f"features.c3d_width must be 1, not {width}")
    model = C3D(width)
    if weights:
        load_weights(model, weights["path"], weights["sha256"])
        source = f"sports1m:{Path(weights['path']).name}:sha256={weights['sha256'][:12]}"
        log.info("C3D weights: %s", source)
    else:
        seeded_init(model, seed)
        source = f"{SEEDED_INIT}:seed={seed}" + (f":width=1/{width}" if width > 1 else "")
        log.warning("!" * 78)
        log.warning("NO C3D WEIGHTS CONFIGURED: features come from a SEEDED RANDOM C3D (%s),",
                    source)
        log.warning("NOT from Sports-1M. Set features.weights {path, url, sha256} for real ones.")
        log.warning("!" * 78)
    return model.eval(), source


def is_seeded_init(source: str) -> bool:
    return source.startswith(SEEDED_INIT)


def choose_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """bf16 (or fp16) on GPUs, bf16 on CPUs with native bf16, fp32 otherwise."""
    if precision != "auto":
        dtype = getattr(torch, precision)
        if device.type == "cpu" and dtype != torch.float32 and not cpu_has_native_bf16():
            raise ValueError(f"precision {precision} on a CPU without native bf16 is emulated "
                             "and far slower than float32; use auto or float32")
        return dtype
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def normalise(clips: torch.Tensor) -> torch.Tensor:
    """(B, 16, 112, 112, 3) uint8 RGB -> (B, 3, 16, 112, 112) float BGR minus the Sports-1M mean."""
    mean = torch.tensor(SPORTS1M_MEAN_BGR, device=clips.device).view(1, 3, 1, 1, 1)
    return clips.flip(-1).permute(0, 4, 1, 2, 3).float() - mean
