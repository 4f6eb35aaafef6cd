"""impasto: neural style transfer after Gatys, Ecker & Bethge (CVPR 2016)."""

from .api import estimate, reconstruct_content, synthesize_texture, transfer
from .errors import ImpastoError, SettingError
from .optimize import Iterate
from .painter import Estimate, Interrupted, Painter, Result, Run
from .settings import Settings

__all__ = [
    "Estimate",
    "ImpastoError",
    "Interrupted",
    "Iterate",
    "Painter",
    "Result",
    "Run",
    "SettingError",
    "Settings",
    "estimate",
    "reconstruct_content",
    "synthesize_texture",
    "transfer",
]
