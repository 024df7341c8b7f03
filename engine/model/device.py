"""Choice of the torch device."""
from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks CUDA when a GPU is present, else the CPU."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but torch sees no CUDA GPU (use --device cpu)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ValueError(f"unknown device '{name}' (use auto, cpu or cuda)")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    return f"CPU ({torch.get_num_threads()} threads)"
