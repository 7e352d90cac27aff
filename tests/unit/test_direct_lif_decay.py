"""The direct kernel's exact LIF between events (solver.codegen `flow`): within a step
the decay exp(-t / tau) is a polynomial where t / tau < EXP_POLYNOMIAL_LIMIT, which
must equal numpy's exp to rounding, and numpy's exp beyond."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meshgen.model_file import read_model
from solver.codegen import EXP_POLYNOMIAL_LIMIT
from solver.direct import load_kernel_module

# Horner's rule over seven terms rounds seven times, each within half an ulp of a
# number below 1: a few ulps of 1 at most (the truncation, x^7 / 7! < 2e-18, is below
# one ulp).
ROUNDING = 4 * np.finfo(float).eps


def test_decay_is_exp_to_rounding_on_both_sides_of_the_limit():
    model = read_model(Path(__file__).resolve().parents[2] / "examples" / "brunel" / "lif.toml")
    kernel = load_kernel_module(model)
    tau = kernel.TAU
    x0 = 19.0  # below threshold: no crossing, the decayed value comes back
    fractions = np.concatenate([np.linspace(0.0, EXP_POLYNOMIAL_LIMIT, 1001)[1:],
                                EXP_POLYNOMIAL_LIMIT * np.array([1.0, 1.5, 10.0, 100.0])])
    for x in fractions:
        (v,), crossing = kernel.flow(x0, x * tau, False, 1e-4, False, 0.0, 0.0)
        assert crossing == -1.0
        expected = kernel.E_L + (x0 - kernel.E_L) * np.exp(-x)
        assert abs(v - expected) <= ROUNDING * abs(expected), x
        if x >= EXP_POLYNOMIAL_LIMIT:
            assert v == expected, x  # numpy's own exp there
