"""The Brian2 side of the direct-simulation benchmark: runs INSIDE the Brian2 venv.

Not imported by anything of ours: brian2_side.py runs it with the venv's python,

    <venv>/bin/python brian2_workload.py --workload lif|adex|adex_grid --neurons N --dt S \
        --t-end S --seed K --cache-dir DIR [--target cython|numpy|auto]

and reads the one JSON dict it prints on stdout (progress goes to stderr).

One process builds the network, stores it, runs it once (code generation and Cython
compilation or loading, the "warm-up"), restores it (state, time, monitors and the
random generator's state) and runs it again, timed. Both runs simulate the same
spikes, which the script checks.

Workloads (the same as ours in benchmarks/bench_direct.py):
  lif:  tau dv/dt = E_l - v, tau = 10 ms, E_l = reset = -65 mV, threshold -50.2 mV,
        no refractory period; independent Poisson input per neuron, 1000 Hz x 1 mV;
        method 'exact'.
  adex: Brette & Gerstner 2005 (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV,
        V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS, b = 0.0805 nA),
        V_r = E_L, spike cut-off at V_T + 5 Delta_T = -40.4 mV; Poisson input
        2000 Hz x 1 mV in v; method 'euler'.
  adex_grid: the same neuron as MIIND 1.0.21's AdEx grid example (benchmarks/
        bench_2d.py): threshold -40 mV, reset v = -70 mV, w += 100 pA; Poisson input
        2100 Hz x 1 mV from v = -70.6 mV, w = 4 pA; method 'euler'.
"""

import argparse
import json
import sys
import time

IMPORT_STARTED = time.perf_counter()
import numpy as np  # noqa: E402
import brian2  # noqa: E402
from brian2 import (Hz, Network, NeuronGroup, PoissonInput, SpikeMonitor, amp,  # noqa: E402
                    defaultclock, mV, ms, nA, nS, pF, prefs, second, seed)
from brian2.devices.device import get_device  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - IMPORT_STARTED

# The rate is averaged over the second half of the run, after the start-up transient.
RATE_FROM_FRACTION = 0.5
# Batches of neuron ids for the rate's standard error (ids i*B//N: contiguous blocks).
N_BATCHES = 10

LIF = dict(tau=10 * ms, E_l=-65 * mV, v_reset=-65 * mV, v_threshold=-50.2 * mV,
           input_rate=1000 * Hz, input_weight=1 * mV)
LIF_EQUATIONS = "dv/dt = (E_l - v) / tau : volt"

# Brette & Gerstner 2005, J Neurophysiol 94:3637, the parameters of their Fig. 2
# (also Brian2's example frompapers/Brette_Gerstner_2005), with V_r = E_L and the
# cut-off V_T + 5 Delta_T of Brian2's example; I = 0 and Poisson input instead.
ADEX = dict(C=281 * pF, g_L=30 * nS, E_L=-70.6 * mV, V_T=-50.4 * mV, Delta_T=2 * mV,
            tau_w=144 * ms, a=4 * nS, b=0.0805 * nA, V_r=-70.6 * mV, I=0 * amp,
            input_rate=2000 * Hz, input_weight=1 * mV)
ADEX_EQUATIONS = """
dv/dt = (-g_L * (v - E_L) + g_L * Delta_T * exp((v - V_T) / Delta_T) - w + I) / C : volt
dw/dt = (a * (v - E_L) - w) / tau_w : amp
"""
ADEX_THRESHOLD = "v > V_T + 5 * Delta_T"
# MIIND's example: its .model file's threshold and reset, its reset mapping's w shift.
ADEX_GRID = dict(ADEX, b=0.1 * nA, V_r=-70 * mV, V_cut=-40 * mV, input_rate=2100 * Hz)
ADEX_GRID_INITIAL_W = 4e-12 * amp


def log(message):
    print("[brian2_workload] " + message, file=sys.stderr, flush=True)


def build(workload, n_neurons, poisson_when="synapses", input_kind="binomial"):
    """NeuronGroup, PoissonInput and SpikeMonitor of one workload; returns
    (objects, namespace, description)."""
    if workload == "lif":
        namespace = dict(LIF)
        group = NeuronGroup(n_neurons, LIF_EQUATIONS, threshold="v >= v_threshold",
                            reset="v = v_reset", method="exact", namespace=namespace,
                            name="lif")
        group.v = LIF["E_l"]
        method = "exact"
    else:
        grid = workload == "adex_grid"
        namespace = dict(ADEX_GRID if grid else ADEX)
        group = NeuronGroup(n_neurons, ADEX_EQUATIONS,
                            threshold="v > V_cut" if grid else ADEX_THRESHOLD,
                            reset="v = V_r; w += b", method="euler", namespace=namespace,
                            name="adex")
        group.v = ADEX["E_L"]
        group.w = ADEX_GRID_INITIAL_W if grid else 0 * amp
        method = "euler"
    if input_kind == "binomial":
        # The workload as specified: one independent Poisson source per neuron, i.e. a
        # binomial(N=1, p=rate*dt) draw per neuron and step (at most one jump per
        # step), added to v in the 'synapses' slot (after the threshold test).
        feed = PoissonInput(group, "v", N=1, rate=namespace["input_rate"],
                            weight=namespace["input_weight"], when=poisson_when)
        objects = [group, feed]
    else:
        # Variant: a Poisson count per neuron and step (any number of jumps).
        group.run_regularly("v += input_weight * poisson(input_rate * dt)",
                            when=poisson_when, name="poisson_counts")
        objects = [group]
    spikes = SpikeMonitor(group, name="spikes")
    return objects + [spikes], namespace, method


def code_object_classes(network):
    """{object name: [code object class names]}: which code generation target ran."""
    classes = {}
    for obj in network.sorted_objects:  # includes contained objects (state updaters, ...)
        # _code_objects holds weak proxies: __class__ is the referent's class
        names = sorted({c.__class__.__name__ for c in getattr(obj, "_code_objects", [])})
        if names:
            classes[obj.name] = names
    return classes


def rate_statistics(spikes, n_neurons, t_from, t_end):
    """Mean rate over [t_from, t_end) and its standard error over N_BATCHES blocks
    of neuron ids."""
    t = np.asarray(spikes.t_[:])
    i = np.asarray(spikes.i[:])
    keep = (t >= t_from) & (t < t_end)
    batch = i[keep] * N_BATCHES // n_neurons
    per_batch_neurons = np.bincount(np.arange(n_neurons) * N_BATCHES // n_neurons,
                                    minlength=N_BATCHES)
    counts = np.bincount(batch, minlength=N_BATCHES)
    rates = counts / (per_batch_neurons * (t_end - t_from))
    return (float(keep.sum() / (n_neurons * (t_end - t_from))),
            float(rates.std(ddof=1) / np.sqrt(N_BATCHES)), rates.tolist(), int(keep.sum()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", choices=("lif", "adex", "adex_grid"), required=True)
    ap.add_argument("--neurons", type=int, required=True)
    ap.add_argument("--dt", type=float, required=True, help="time step (s)")
    ap.add_argument("--t-end", type=float, required=True, help="simulated seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-dir", required=True, help="Brian2's Cython cache directory")
    ap.add_argument("--input", default="binomial", choices=("binomial", "poisson"),
                    help="binomial (default): PoissonInput(N=1), at most one jump per "
                         "step; poisson: run_regularly('v += weight*poisson(rate*dt)')")
    ap.add_argument("--poisson-when", default="synapses",
                    help="PoissonInput's scheduling slot (default 'synapses', Brian2's "
                         "default: after the threshold test; 'before_thresholds' applies "
                         "the jumps before it)")
    ap.add_argument("--target", default="cython", choices=("cython", "numpy", "auto"),
                    help="prefs.codegen.target (default cython: fail rather than fall "
                         "back to numpy)")
    a = ap.parse_args(argv)

    prefs.codegen.target = a.target
    prefs.codegen.runtime.cython.cache_dir = a.cache_dir
    defaultclock.dt = a.dt * second
    seed(a.seed)

    started = time.perf_counter()
    objects, namespace, method = build(a.workload, a.neurons, a.poisson_when, a.input)
    network = Network(*objects)
    network.store()
    build_seconds = time.perf_counter() - started

    log(f"{a.workload}: {a.neurons} neurons, dt {a.dt:g} s, {a.t_end:g} s, warm-up run")
    started = time.perf_counter()
    network.run(a.t_end * second)
    warmup_seconds = time.perf_counter() - started
    warmup_loop = float(get_device()._last_run_time)
    spikes = objects[-1]
    warmup_spikes = (np.asarray(spikes.t_[:]).copy(), np.asarray(spikes.i[:]).copy())
    t_from = RATE_FROM_FRACTION * a.t_end
    warmup_rate = rate_statistics(spikes, a.neurons, t_from, a.t_end)[0]

    network.restore(restore_random_state=True)
    log("timed run")
    started = time.perf_counter()
    network.run(a.t_end * second)
    run_seconds = time.perf_counter() - started
    loop_seconds = float(get_device()._last_run_time)
    rate, rate_se, batch_rates, n_counted = rate_statistics(spikes, a.neurons, t_from, a.t_end)
    same = (len(warmup_spikes[0]) == len(spikes.t_[:]) and
            bool(np.array_equal(warmup_spikes[1], np.asarray(spikes.i[:]))))
    classes = code_object_classes(network)
    all_classes = sorted({c for names in classes.values() for c in names})
    targets = sorted({c.replace("CodeObject", "").lower() for c in all_classes})
    neuron_seconds = a.neurons * a.t_end
    result = {
        "simulator": "brian2",
        "brian2_version": brian2.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "codegen_target_pref": a.target,
        "codegen_targets_ran": targets,
        "code_objects": classes,
        "workload": a.workload,
        "method": method,
        "n_neurons": a.neurons,
        "t_end": a.t_end,
        "dt": a.dt,
        "seed": a.seed,
        "input": {"rate_hz": float(namespace["input_rate"] / Hz),
                  "jump_mv": float(namespace["input_weight"] / mV),
                  "kind": ("PoissonInput(N=1): binomial per neuron and step"
                           if a.input == "binomial" else
                           "run_regularly: poisson(rate*dt) jumps per neuron and step"),
                  "when": a.poisson_when},
        "import_seconds": IMPORT_SECONDS,
        "build_seconds": build_seconds,
        "warmup_run_seconds": warmup_seconds,
        "warmup_loop_seconds": warmup_loop,
        "run_seconds": run_seconds,
        "loop_seconds": loop_seconds,
        "cost_per_neuron_second": run_seconds / neuron_seconds,
        "loop_cost_per_neuron_second": loop_seconds / neuron_seconds,
        "rate_hz": rate,
        "rate_se_hz": rate_se,
        "rate_window_s": [t_from, a.t_end],
        "batch_rates_hz": batch_rates,
        "n_spikes_in_window": n_counted,
        "n_spikes": int(len(spikes.t_[:])),
        "warmup_rate_hz": warmup_rate,
        "warmup_and_timed_runs_identical": same,
    }
    if a.workload == "adex":
        result["spike_cutoff_mv"] = float((ADEX["V_T"] + 5 * ADEX["Delta_T"]) / mV)
    elif a.workload == "adex_grid":
        result["spike_cutoff_mv"] = float(ADEX_GRID["V_cut"] / mV)
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
