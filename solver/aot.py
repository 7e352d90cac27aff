"""Compile the run-time kernels ahead of time: `python -m solver.aot`.

Uses numba's ahead-of-time compiler (numba.pycc) on the very functions the JIT
compiles, for the argument types the network builder produces, and writes the stamp
that solver.backend checks. Run by `make install`; if it fails, runs fall back to the
JIT and nothing else changes.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from .backend import AOT_MODULE, HERE, STAMP, source_hash


def argument_types():
    from numba import typeof

    from .layout import Coupling, Matrices, Mesh, State

    ints = np.zeros(1, np.int64)
    floats = np.zeros(1)
    grid = np.zeros((1, 1))
    mesh = Mesh(*[floats if name in ("centres", "reset_fractions", "reset_potential",
                                     "refractory_steps") else ints for name in Mesh._fields])
    matrices = Matrices(*[floats if name in ("data", "threshold_fraction") else ints
                          for name in Matrices._fields])
    coupling = Coupling(*[floats if name in ("conn_count", "conn_delay") else ints
                          for name in Coupling._fields])
    state = State(mass=floats, pop_step=ints, refractory_queue=grid, rate_history=grid)
    t = typeof
    advance = (t(mesh), t(matrices), t(coupling), t(state), t(grid), t(1), t(1), t(1.0),
               t(grid), t(grid), t(grid), t(grid))
    gather = (t(mesh), t(floats), t(1), t(1), t(floats))
    return advance, gather


def build() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc announces its own deprecation
        from numba.pycc import CC

        from . import kernels

        STAMP.unlink(missing_ok=True)
        advance, gather = argument_types()
        compiler = CC(AOT_MODULE)
        compiler.output_dir = str(HERE)
        # Built on the machine that runs it (make install), so tune for this CPU.
        compiler.target_cpu = "host"
        compiler.verbose = False
        compiler.export("advance_network", advance)(kernels.advance_network.py_func)
        compiler.export("gather_logical", gather)(kernels.gather_logical.py_func)
        compiler.compile()
    STAMP.write_text(source_hash() + "\n")


if __name__ == "__main__":
    try:
        build()
    except Exception as error:  # any failure leaves the JIT path in place
        print(f"miind: ahead-of-time kernels not built ({error}); runs will use the numba JIT",
              file=sys.stderr)
        sys.exit(0)
    print(f"miind: ahead-of-time kernels built in {HERE}", file=sys.stderr)
