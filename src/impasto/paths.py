"""Where the files that ship inside the package are, and how impasto writes its own."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """A file or folder under src/impasto/data/."""
    return Path(str(resources.files("impasto").joinpath("data", *parts)))


def example(name: str) -> Path:
    """One of the paper's images (data/examples/, credits in its README)."""
    return data_path("examples", name)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` to write; on success it replaces `path` in one step, so
    a reader (or an interrupted run) sees the old file or the new one, never half of one."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it the usual mode
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_unfinished(folder: Path, pattern: str = "*") -> None:
    """Remove what `replacing` left in `folder` for files matching `pattern` when a run was
    killed while writing them."""
    for left in folder.glob(f".{pattern}.*.part"):
        left.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
