"""Writing a file so that readers never see half of it.

The content goes to a temporary file beside the target, which is renamed over the
target only once it is complete; on any error or Ctrl-C the temporary file is removed
and the target is left as it was.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | Path):
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
