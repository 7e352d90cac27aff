"""Which compiled kernels `miind run` uses.

The kernels in solver.kernels are numba functions. Compiled just in time they cost
numba's start-up on every run (about half a second here, more than a 1 s simulation
of a 1D population), even with a warm cache. So `make install` also compiles them
ahead of time (solver.aot) into an extension module next to this file, stamped with
a hash of the kernel sources. A run uses that module when the stamp matches the
sources, and the numba JIT (cache=True) otherwise; both run the same code.

MIIND_KERNELS=jit forces the JIT path (for tests comparing the two).
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

AOT_MODULE = "_kernels_aot"
HERE = Path(__file__).resolve().parent
STAMP = HERE / f"{AOT_MODULE}.stamp"
# The kernels and everything compiled into them.
SOURCES = ("kernels.py", "layout.py")


@dataclass(frozen=True)
class Kernels:
    name: str  # "aot" or "jit"
    advance_network: Callable
    gather_logical: Callable


def source_hash() -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def aot_is_current() -> bool:
    try:
        return STAMP.read_text().strip() == source_hash()
    except OSError:
        return False


def load_kernels() -> Kernels:
    if os.environ.get("MIIND_KERNELS", "").lower() != "jit" and aot_is_current():
        try:
            module = importlib.import_module(f"solver.{AOT_MODULE}")
            return Kernels("aot", module.advance_network, module.gather_logical)
        except ImportError:
            pass
    from . import kernels
    return Kernels("jit", kernels.advance_network, kernels.gather_logical)
