"""One AdEx neuron under constant current, integrated by scipy's adaptive Runge-Kutta
at tight tolerances with the threshold as an event: a reference for the spike times of
the direct kernel (solver.codegen, fixed-step RK4), written from the equations of
Brette & Gerstner 2005 independently of the model library.

    C dv/dt = -g_L (v - E_L) + g_L Delta_T exp((v - V_T)/Delta_T) - w + I
    tau_w dw/dt = a (v - E_L) - w

v in mV, w and I in pA, C in pF, conductances in nS, times in s; at v = threshold a
spike, then v -> V_r and w -> w + b.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


def adex_spike_times(parameters: dict, threshold: float, t_end: float, v0: float,
                     w0: float) -> np.ndarray:
    """Spike times (s) of the neuron in [0, t_end] from (v0, w0)."""
    p = parameters

    def flow(_, state):
        v, w = state
        dv = (-p["g_L"] * (v - p["E_L"]) + p["g_L"] * p["Delta_T"]
              * np.exp((v - p["V_T"]) / p["Delta_T"]) - w + p["I"]) / p["C"]
        # pA / pF = V/s = 1000 mV/s.
        return [1000.0 * dv, (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]]

    def reaches_threshold(_, state):
        return state[0] - threshold
    reaches_threshold.terminal = True
    reaches_threshold.direction = 1

    spikes = []
    t, state = 0.0, [v0, w0]
    while t < t_end:
        solution = solve_ivp(flow, (t, t_end), state, method="DOP853", rtol=1e-11,
                             atol=1e-9, events=reaches_threshold, max_step=1e-3)
        if not solution.t_events[0].size:
            break
        t = float(solution.t_events[0][0])
        spikes.append(t)
        state = [p["V_r"], float(solution.y_events[0][0][1]) + p["b"]]
    return np.array(spikes)
