"""Brunel's (2000) network, model A, in Brian2: runs INSIDE the Brian2 venv.

Not imported by anything of ours: brian2_side.py runs it with the venv's python,

    <venv>/bin/python brian2_brunel.py --g 5 --eta 2 --t-end S --warmup S --seed K \
        --cache-dir DIR [--neurons N] [--c-e K] [--j MV] [--rates-out FILE.npz] \
        [--input-before-threshold]

and reads the one JSON dict it prints on stdout (progress goes to stderr).

Written as a Brian2 user would write it: LIF NeuronGroup with `(unless refractory)`,
method 'exact', delta synapses (`on_pre` adds J to v) with one homogeneous delay,
fixed in-degree drawn with numpy and given to `connect(i=, j=)`, external input as a
PoissonInput of C_E sources at eta * nu_thr. Brian2's schedule tests the threshold
before the step's synapses act, so an input is tested a step later, after a step of leak
(0.1 mV at the threshold, as much as J); --input-before-threshold moves the synapses and
the PoissonInput before the test, as NEST and ours. Inputs arriving during the refractory
period are dropped (`int(not_refractory)`), as in Brunel's model, NEST's
iaf_psc_delta and ours: Brian2 would otherwise add them to the clamped v, which is
another model (a higher rate). Autapses and multapses are allowed (plain numpy draws).

N_E = 0.8 N, N_I = 0.2 N (N = 12,500 by default: 10,000 + 2,500); C_E = 1,000 and
C_I = 250 whatever N is (--c-e sets C_E, C_I = C_E / 4; --j sets J, and nu_thr follows
from J C_E). One process: build, `run(warmup)`, `run(t_end)` timed apart, in wall and
CPU seconds (time.process_time); the Cython code is compiled on the first run of a
fresh cache (`--cache-dir`).
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reference_venv import own_peak_rss_mb  # noqa: E402  (benchmarks/, standard library only)

PROCESS_STARTED = time.perf_counter()
import numpy as np  # noqa: E402
import brian2  # noqa: E402
from brian2 import (Network, NeuronGroup, PoissonInput, SpikeMonitor, Synapses,  # noqa: E402
                    defaultclock, mV, ms, prefs, second)

IMPORT_SECONDS = time.perf_counter() - PROCESS_STARTED

C_E, C_I = 1000, 250
J = 0.1 * mV
DELAY = 1.5 * ms
TAU = 20 * ms
THETA = 20 * mV
V_RESET = 10 * mV
T_REF = 2 * ms
DT = 0.1 * ms
BIN_S = 1e-3  # the bins of --rates-out, those of make brunel's rates


def log(message):
    print("[brian2_brunel] " + message, file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--g", type=float, default=5.0)
    ap.add_argument("--eta", type=float, default=2.0)
    ap.add_argument("--neurons", type=int, default=12500)
    ap.add_argument("--t-end", type=float, required=True, help="timed simulated seconds")
    ap.add_argument("--warmup", type=float, default=0.0, help="simulated seconds first")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cache-dir", required=True, help="Brian2's Cython cache directory")
    ap.add_argument("--c-e", type=int, default=C_E, help="excitatory in-degree; C_I = C_E / 4")
    ap.add_argument("--j", type=float, default=float(J / mV), help="J in mV")
    ap.add_argument("--input-before-threshold", action="store_true",
                    help="deliver a step's spikes and Poisson input before its threshold test "
                         "(as NEST and ours), not after it as Brian2's default schedule does")
    ap.add_argument("--rates-out", help="write the E and I rates in 1 ms bins over the "
                                        "window after the warm-up to this .npz")
    a = ap.parse_args(argv)
    c_e, c_i, j = a.c_e, a.c_e // 4, a.j * mV
    nu_thr = THETA / (j * c_e * TAU)
    prefs.codegen.target = "cython"
    prefs.codegen.runtime.cython.cache_dir = a.cache_dir
    defaultclock.dt = DT
    brian2.seed(a.seed)
    rng = np.random.default_rng(a.seed)
    n_e = a.neurons * 4 // 5
    n = a.neurons

    started, cpu_started = time.perf_counter(), time.process_time()
    group = NeuronGroup(n, "dv/dt = -v / TAU : volt (unless refractory)",
                        threshold="v >= THETA", reset="v = V_RESET", refractory=T_REF,
                        method="exact", namespace={"TAU": TAU, "THETA": THETA,
                                                   "V_RESET": V_RESET})
    group.v = V_RESET
    synapses = []
    for sources, in_degree, weight in ((group[:n_e], c_e, j), (group[n_e:], c_i, -a.g * j)):
        s = Synapses(sources, group, on_pre="v_post += w * int(not_refractory_post)",
                     delay=DELAY, namespace={"w": weight})
        s.connect(i=rng.integers(0, len(sources), size=n * in_degree),
                  j=np.repeat(np.arange(n), in_degree))
        if a.input_before_threshold:
            s.pre.when = "before_thresholds"
        synapses.append(s)
    # J_ext is resolved from the runs' namespace: a name, not a value written into the
    # expression, so one compiled code serves every J
    external = PoissonInput(group, "v", N=c_e, rate=a.eta * nu_thr,
                            weight="J_ext * int(not_refractory)",
                            when="before_thresholds" if a.input_before_threshold else "synapses")
    spikes = SpikeMonitor(group)
    network = Network(group, *synapses, external, spikes)
    build_seconds = time.perf_counter() - started
    build_cpu_seconds = time.process_time() - cpu_started
    log("%d neurons, %d synapses built in %.1f s" % (n, sum(len(s) for s in synapses),
                                                    build_seconds))

    started, cpu_started = time.perf_counter(), time.process_time()
    if a.warmup > 0:
        network.run(a.warmup * second, namespace={"J_ext": j})
    warmup_seconds = time.perf_counter() - started
    warmup_cpu_seconds = time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    network.run(a.t_end * second, namespace={"J_ext": j})
    run_seconds = time.perf_counter() - started
    run_cpu_seconds = time.process_time() - cpu_started
    log("warm-up %.1f s, run %.1f s" % (warmup_seconds, run_seconds))

    t = np.asarray(spikes.t_[:])
    i = np.asarray(spikes.i[:])
    window = t >= a.warmup
    n_spikes_e = int(np.count_nonzero(window & (i < n_e)))
    n_spikes_i = int(np.count_nonzero(window & (i >= n_e)))
    if a.rates_out:
        # a spike of step k carries its step's start time k dt: bin b holds [b, b + 1) ms
        n_bins = int(round(a.t_end / BIN_S))
        bins = np.floor((t - a.warmup) / BIN_S + 1e-6).astype(np.int64)
        kept = window & (bins < n_bins)
        rates = [np.bincount(bins[kept & part], minlength=n_bins) / (size * BIN_S)
                 for part, size in ((i < n_e, n_e), (i >= n_e, n - n_e))]
        np.savez_compressed(a.rates_out, t_s=a.warmup + BIN_S * np.arange(n_bins),
                            rate_e_hz=rates[0], rate_i_hz=rates[1], bin_s=BIN_S)
    result = {
        "simulator": "brian2", "brian2_version": brian2.__version__,
        "numpy_version": np.__version__, "python": sys.version.split()[0],
        "codegen_target": prefs.codegen.target,
        "input_before_threshold": a.input_before_threshold, "g": a.g, "eta": a.eta,
        "n_neurons": n, "n_e": n_e, "c_e": c_e, "c_i": c_i, "j_mv": a.j,
        "n_synapses": int(sum(len(s) for s in synapses)),
        "dt": float(DT / second), "t_end": a.t_end, "warmup": a.warmup, "seed": a.seed,
        "import_seconds": IMPORT_SECONDS, "build_seconds": build_seconds,
        "warmup_run_seconds": warmup_seconds, "run_seconds": run_seconds,
        "build_cpu_seconds": build_cpu_seconds, "warmup_cpu_seconds": warmup_cpu_seconds,
        "run_cpu_seconds": run_cpu_seconds, "worker_cpu_seconds": time.process_time(),
        "worker_seconds": time.perf_counter() - PROCESS_STARTED,
        "rate_e_hz": n_spikes_e / (n_e * a.t_end),
        "rate_i_hz": n_spikes_i / ((n - n_e) * a.t_end),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "own_peak_rss_mb": own_peak_rss_mb(),
    }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
