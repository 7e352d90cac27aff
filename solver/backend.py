"""Which compiled kernels `miind run` uses.

The kernels in solver.kernels_1d (and kernels_2d, kernels_diffusion) are numba functions. Compiled just in time they cost
numba's start-up on every run, even with a warm cache: `import numba` and loading
each kernel's cached machine code, 1.2 s more for a run of the public case (`make
bench`, 2026-12: 2.0 s against 0.83 s). So `make install` also compiles them
ahead of time (solver.aot) into an extension module. A run uses that module when it
was built from the current kernel sources, for this Python, numba, numpy and CPU, and
the numba JIT (cache=True) otherwise; both compile the same functions and give the
same numbers, bit for bit (tests/unit/test_backends.py).

Where the module lives: a per-user cache directory, not the package. The root is
$MIIND_CACHE_DIR, else $XDG_CACHE_HOME/miind, else ~/.cache/miind (the root that
solver.codegen's generated direct kernels use, in their own `direct/` subfolder);
each build goes to `aot/<key>/`, the key naming everything the machine code depends
on (`build_key`). A build writes its stamp, the full hash of the kernel sources,
last; a directory without a matching stamp is never loaded. Modules that older
versions built into solver/ itself are never imported (nothing imports
`solver._kernels_aot` any more).

MIIND_KERNELS=jit forces the JIT path (for tests comparing the two).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.machinery
import importlib.util
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

AOT_MODULE = "_kernels_aot"
HERE = Path(__file__).resolve().parent
# The kernels, their argument layouts and the build script (its argument types are
# compiled into the module).
SOURCES = ("kernels_1d.py", "layout_1d.py", "kernels_2d.py", "kernels_diffusion.py", "aot.py")
# The root of every cache of the project: these kernels' builds and solver.codegen's
# generated direct kernels.
CACHE_ENV = "MIIND_CACHE_DIR"
STAMP_NAME = "stamp"
# The file name numba.pycc gives the module (CC.output_file's default).
MODULE_FILE = AOT_MODULE + importlib.machinery.EXTENSION_SUFFIXES[0]
# Lines of /proc/cpuinfo that say which instructions the CPU has (x86, then ARM).
CPU_KEYS = ("vendor_id", "model name", "flags", "CPU implementer", "CPU part", "Features")


@dataclass(frozen=True)
class Kernels:
    name: str  # "aot" or "jit"
    advance_network: Callable  # solver.kernels_1d
    gather_logical: Callable
    advance_grid: Callable  # solver.kernels_2d
    advance_diffusion: Callable  # solver.kernels_diffusion


def source_hash() -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()


def cache_root() -> Path:
    """$MIIND_CACHE_DIR, else $XDG_CACHE_HOME/miind, else ~/.cache/miind."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "miind")
    return Path(root)


def numba_version() -> str:
    """The installed numba's version, read from its metadata without importing numba
    (a run with the compiled module never loads it) or importlib.metadata (40 ms)."""
    spec = importlib.util.find_spec("numba")
    if spec is None or spec.origin is None:
        return "none"
    site = Path(spec.origin).resolve().parent.parent
    for info in sorted(site.glob("numba-*.dist-info")):
        return info.name[len("numba-"):-len(".dist-info")]
    return "unknown"


def host_cpu() -> str:
    """The machine and a short hash of its CPU's model and instruction-set flags: the
    module is compiled for the host CPU, and a per-user cache can be shared by
    machines with different CPUs (a home directory on a cluster's file server)."""
    digest = hashlib.sha256()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough
                key = line.split(":", 1)[0].strip()
                if key in CPU_KEYS:
                    digest.update(line.encode())
    except OSError:
        digest.update(platform.processor().encode())
    return f"{platform.machine()}-{digest.hexdigest()[:8]}"


def build_key(sources: str) -> str:
    """Everything the compiled module's machine code depends on, as a directory name."""
    return (f"{sources[:16]}-{sys.implementation.cache_tag}-numba{numba_version()}"
            f"-numpy{np.__version__}-{host_cpu()}")


def build_directory() -> Path:
    """Where the module for the current sources, versions and CPU is (or would be)."""
    return cache_root() / "aot" / build_key(source_hash())


def aot_is_current(directory: Path | None = None) -> bool:
    directory = build_directory() if directory is None else directory
    try:
        stamped = (directory / STAMP_NAME).read_text().strip()
    except OSError:
        return False
    return stamped == source_hash() and (directory / MODULE_FILE).is_file()


@functools.cache
def import_module_file(path: Path) -> ModuleType:
    """Import the extension module at `path` (once per process)."""
    spec = importlib.util.spec_from_file_location(AOT_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not an extension module: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_kernels() -> Kernels:
    if os.environ.get("MIIND_KERNELS", "").lower() != "jit":
        directory = build_directory()
        if aot_is_current(directory):
            try:
                module = import_module_file(directory / MODULE_FILE)
                return Kernels("aot", module.advance_network, module.gather_logical,
                               module.advance_grid, module.advance_diffusion)
            except (ImportError, AttributeError):
                pass  # a broken build: the JIT runs the same code
    from . import kernels_1d, kernels_2d, kernels_diffusion
    return Kernels("jit", kernels_1d.advance_network, kernels_1d.gather_logical,
                   kernels_2d.advance_grid, kernels_diffusion.advance_diffusion)
