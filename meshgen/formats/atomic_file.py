"""Writing a file so that readers never see half of it.

The content goes to a temporary file beside the target, which is renamed over the
target only once it is complete; on any error or Ctrl-C the temporary file is removed
and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import ConfigError


def check_writable(path: str | Path) -> None:
    """Fail early, before any work, if `path` cannot be written."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"cannot write output: directory {str(parent)!r} does not exist",
                          path=str(path))
    if path.is_dir():
        raise ConfigError("cannot write output: it is a directory", path=str(path))
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write output: directory {str(parent)!r} is not writable",
                          path=str(path))


@contextlib.contextmanager
def atomic_output(path: str | Path):
    check_writable(path)
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
