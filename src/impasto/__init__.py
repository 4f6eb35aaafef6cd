"""impasto: neural style transfer after Gatys, Ecker & Bethge (CVPR 2016)."""

from .api import Estimate, estimate, reconstruct_content, synthesize_texture, transfer
from .errors import ImpastoError
from .optimize import Interrupted, Iterate

__all__ = [
    "Estimate",
    "ImpastoError",
    "Interrupted",
    "Iterate",
    "estimate",
    "reconstruct_content",
    "synthesize_texture",
    "transfer",
]
