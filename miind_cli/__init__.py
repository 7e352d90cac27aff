"""miind_cli: the `miind` command line and the analysis of its outputs."""

import os

# One BLAS thread unless the user says otherwise; set before anything imports numpy,
# which reads it once. Our BLAS work is level 1-2 on vectors of 10^4-10^5 (the
# iterative stationary solves, analysis), where threads gain nothing, and on a shared
# or loaded machine OpenBLAS's spinning threads made `miind steady` of a 20,000-cell
# grid 7x slower (5.1 s against 0.74 s at load 2.5).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from meshgen import __version__  # noqa: E402

__all__ = ["__version__"]
