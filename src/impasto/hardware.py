"""Where a painter computes, and in which arithmetic."""

from __future__ import annotations

import torch

from .errors import SettingError
from .vgg import Precision

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bfloat16")


def resolve_device(name: str) -> torch.device:
    """ "auto": a CUDA GPU, else Apple's MPS, else the CPU."""
    if name not in DEVICES:
        raise SettingError("device", f"must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available[name]:
        raise SettingError("device", f"{name!r} is not available on this machine; use cpu")
    return torch.device(name)


def native_bfloat16(device: torch.device) -> bool:
    """Whether the hardware computes bfloat16 natively: a CUDA GPU from Ampere (compute
    capability 8) on, or a CPU with AMX tiles or AVX512-BF16 (bench/RESULTS.md measured both
    at about twice float32's speed, with the same final loss)."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        queries = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
        return any(getattr(torch.cpu, query, lambda: False)() for query in queries)
    return False


def resolve_precision(name: str, device: torch.device) -> Precision:
    """ "auto": bfloat16 where the hardware computes it natively, else float32."""
    if name not in PRECISIONS:
        raise SettingError("precision", f"must be one of {', '.join(PRECISIONS)}, not {name!r}")
    if name != "auto":
        return name  # type: ignore[return-value]
    return "bfloat16" if native_bfloat16(device) else "float32"
