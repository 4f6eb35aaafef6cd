"""Where the files that ship inside the package are."""

from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """A file or folder under src/impasto/data/."""
    return Path(str(resources.files("impasto").joinpath("data", *parts)))


def example(name: str) -> Path:
    """One of the paper's images (data/examples/, credits in its README)."""
    return data_path("examples", name)
