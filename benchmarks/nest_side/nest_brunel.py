"""The NEST side of the Brunel benchmark: runs INSIDE the NEST venv.

Not imported by anything of ours: nest_side.py runs it with the venv's python,

    <venv>/bin/python nest_brunel.py --state A|B|C|D --t-end S --warmup S \
        [--threads N] [--seed K] [--rates-out FILE.npz] [--neurons N] [--c-e K] [--j MV] \
        [--precise] [--v-init MV]

and reads the one JSON dict it prints on stdout (NEST's banner and messages, and our
progress, go to stderr).

Brunel (2000) model A: 10,000 excitatory and 2,500 inhibitory iaf_psc_delta neurons
(tau_m 20 ms, t_ref 2 ms, theta 20 mV, V_reset 10 mV, E_L 0, C_m 1 so that a weight
is the PSP jump in mV), C_E = 1,000 and C_I = 250 inputs per neuron (fixed_indegree,
no autapses, multapses allowed), J = 0.1 mV, inhibitory weight -g J, delay 1.5 ms,
external Poisson input eta * nu_thr * C_E per neuron with weight J.

For cost studies (benchmarks/bench_network.py), --neurons sets N (N_E = 0.8 N,
N_I = 0.2 N), --c-e the in-degree C_E (C_I = C_E / 4) and --j the efficacy J; nu_thr
follows from J C_E. Each phase is timed in wall and CPU seconds (time.process_time).

--precise runs the same network in continuous time, as ours: iaf_psc_delta_ps neurons
(spikes at their exact times, not at the end of their 0.1 ms step) and
poisson_generator_ps (external events at exact times), so that inputs of one step are no
longer summed before the threshold test. --v-init sets the initial V_m of every neuron
(default 0 mV, NEST's E_L; ours start at the reset, 10 mV).
"""

import argparse
import json
import os
import resource
import sys
import time

# NEST prints its banner and log messages on fd 1: keep the real stdout for the JSON
# and send everything else (from Python or from NEST's C++) to stderr.
JSON_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

PROCESS_STARTED = time.perf_counter()
import numpy as np  # noqa: E402
import nest  # noqa: E402

from spike_measures import highest_bin, mean_cv_isi, refined_peak, welch  # noqa: E402
# (spike_measures: this script's directory)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reference_venv import own_peak_rss_mb  # noqa: E402  (benchmarks/, standard library only)

IMPORT_SECONDS = time.perf_counter() - PROCESS_STARTED

# Brunel (2000), Fig. 8: (g, eta) of the four states.
STATES = {"A": (3.0, 2.0), "B": (6.0, 4.0), "C": (5.0, 2.0), "D": (4.5, 0.9)}

N_E, N_I = 10000, 2500
C_E, C_I = 1000, 250
J_MV = 0.1
DELAY_MS = 1.5
RESOLUTION_MS = 0.1
TAU_M_MS = 20.0
THETA_MV = 20.0
NEURON = {"C_m": 1.0, "tau_m": TAU_M_MS, "t_ref": 2.0, "E_L": 0.0,
          "V_reset": 10.0, "V_th": THETA_MV, "V_m": 0.0}
# theta / (J C_E tau) in 1/ms, i.e. 10 Hz
NU_THR_HZ = 1000.0 * THETA_MV / (J_MV * C_E * TAU_M_MS)

BIN_MS = 1.0
# Welch segments of 256 bins (3.9 Hz resolution), Hann window, half overlap.
WELCH_BINS = 256
SPECTRUM_FROM_HZ = 5.0


def log(message):
    print("[nest_brunel] " + message, file=sys.stderr, flush=True)


# The grid-based models and their continuous-time (precise spike timing) versions.
MODELS = {False: ("iaf_psc_delta", "poisson_generator"),
          True: ("iaf_psc_delta_ps", "poisson_generator_ps")}


def build(g, eta, threads, seed, record_from_ms, n_e=N_E, n_i=N_I, c_e=C_E, c_i=C_I,
          j_mv=J_MV, precise=False, v_init_mv=0.0):
    """The network, and spike recorders of E and I that record from record_from_ms on."""
    nu_thr_hz = 1000.0 * THETA_MV / (j_mv * c_e * TAU_M_MS)
    nest.ResetKernel()
    nest.set(resolution=RESOLUTION_MS, local_num_threads=threads, rng_seed=seed,
             print_time=False)
    neuron_model, generator_model = MODELS[precise]
    params = dict(NEURON, V_m=v_init_mv)
    exc = nest.Create(neuron_model, n_e, params=params)
    inh = nest.Create(neuron_model, n_i, params=params)
    # A poisson_generator sends an independent train to each of its targets.
    noise = nest.Create(generator_model, params={"rate": eta * nu_thr_hz * c_e})
    every = exc + inh
    nest.Connect(noise, every, syn_spec={"weight": j_mv, "delay": DELAY_MS})
    nest.Connect(exc, every,
                 {"rule": "fixed_indegree", "indegree": c_e,
                  "allow_autapses": False, "allow_multapses": True},
                 {"weight": j_mv, "delay": DELAY_MS})
    nest.Connect(inh, every,
                 {"rule": "fixed_indegree", "indegree": c_i,
                  "allow_autapses": False, "allow_multapses": True},
                 {"weight": -g * j_mv, "delay": DELAY_MS})
    rec_e = nest.Create("spike_recorder", params={"start": record_from_ms})
    rec_i = nest.Create("spike_recorder", params={"start": record_from_ms})
    nest.Connect(exc, rec_e)
    nest.Connect(inh, rec_i)
    return rec_e, rec_i


def grid_steps(times_ms):
    """The step s whose interval ((s - 1) h, s h] holds each spike: s = t / h for the
    grid-based models, which stamp a spike with the end of its step, and the step that
    holds a precise spike time (--precise)."""
    return np.ceil(np.asarray(times_ms) / RESOLUTION_MS - 1e-6).astype(np.int64)


def binned_rates(steps, first_step, n_bins, n_neurons):
    """Population rate in Hz per BIN_MS bin. NEST records a spike of step s (time
    s * resolution) when start < t <= stop, so bin k holds steps
    (first_step + k*per_bin, first_step + (k+1)*per_bin]."""
    per_bin = int(round(BIN_MS / RESOLUTION_MS))
    k = (steps - first_step - 1) // per_bin
    counts = np.bincount(k[(k >= 0) & (k < n_bins)], minlength=n_bins)
    return counts / (n_neurons * BIN_MS * 1e-3)


def spectrum_peak(rate_hz):
    """Frequency (Hz) of the largest Welch power above SPECTRUM_FROM_HZ of a rate
    series in BIN_MS bins, its mean removed; also the (frequencies, power)."""
    freqs, power = welch(rate_hz, BIN_MS * 1e-3, min(WELCH_BINS, len(rate_hz)))
    return float(freqs[highest_bin(freqs, power, SPECTRUM_FROM_HZ)]), freqs, power


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state", required=True, choices=sorted(STATES))
    ap.add_argument("--t-end", type=float, required=True,
                    help="recorded simulated seconds, after the warm-up")
    ap.add_argument("--warmup", type=float, default=0.2, help="unrecorded seconds first")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--rates-out", help="write the binned E and I rates to this .npz")
    ap.add_argument("--neurons", type=int, default=N_E + N_I, help="N = N_E + N_I")
    ap.add_argument("--c-e", type=int, default=C_E, help="excitatory in-degree; C_I = C_E / 4")
    ap.add_argument("--j", type=float, default=J_MV, help="J in mV")
    ap.add_argument("--precise", action="store_true",
                    help="continuous time: iaf_psc_delta_ps and poisson_generator_ps")
    ap.add_argument("--v-init", type=float, default=NEURON["V_m"],
                    help="initial V_m of every neuron, mV (default %g)" % NEURON["V_m"])
    a = ap.parse_args(argv)
    n_e = a.neurons * 4 // 5
    n_i = a.neurons - n_e
    c_e, c_i = a.c_e, a.c_e // 4
    g, eta = STATES[a.state]
    nest.verbosity = nest.VerbosityLevel.ERROR

    warmup_ms, t_end_ms = 1000.0 * a.warmup, 1000.0 * a.t_end
    log("state %s (g=%g, eta=%g): building %d + %d %s neurons, %d threads"
        % (a.state, g, eta, n_e, n_i, MODELS[a.precise][0], a.threads))
    started, cpu_started = time.perf_counter(), time.process_time()
    rec_e, rec_i = build(g, eta, a.threads, a.seed, warmup_ms, n_e, n_i, c_e, c_i, a.j,
                         a.precise, a.v_init)
    build_seconds = time.perf_counter() - started
    build_cpu_seconds = time.process_time() - cpu_started
    n_connections = nest.num_connections
    rss_after_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    started, cpu_started = time.perf_counter(), time.process_time()
    if warmup_ms > 0:
        nest.Simulate(warmup_ms)
    warmup_seconds = time.perf_counter() - started
    warmup_cpu_seconds = time.process_time() - cpu_started
    log("warm-up %.3g s simulated in %.1f s; recording %.3g s" % (a.warmup, warmup_seconds,
                                                                   a.t_end))
    started, cpu_started = time.perf_counter(), time.process_time()
    nest.Simulate(t_end_ms)
    simulate_seconds = time.perf_counter() - started
    simulate_cpu_seconds = time.process_time() - cpu_started

    ev_e, ev_i = rec_e.get("events"), rec_i.get("events")
    steps_e, steps_i = grid_steps(ev_e["times"]), grid_steps(ev_i["times"])
    senders_e = np.asarray(ev_e["senders"], dtype=np.int64)
    first_step = int(round(warmup_ms / RESOLUTION_MS))
    n_bins = int(round(t_end_ms / BIN_MS))
    rate_e = binned_rates(steps_e, first_step, n_bins, n_e)
    rate_i = binned_rates(steps_i, first_step, n_bins, n_i)
    cv_e, n_cv = mean_cv_isi(senders_e, np.asarray(ev_e["times"], dtype=float))
    peak_hz, freqs, power = spectrum_peak(rate_e)
    refined = refined_peak(rate_e, BIN_MS * 1e-3, SPECTRUM_FROM_HZ)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    if a.rates_out:
        np.savez_compressed(a.rates_out, t_s=a.warmup + BIN_MS * 1e-3 * np.arange(n_bins),
                            rate_e_hz=rate_e, rate_i_hz=rate_i, bin_s=BIN_MS * 1e-3,
                            state=a.state, g=g, eta=eta, welch_freqs_hz=freqs,
                            welch_power_e=power)
    whole = time.perf_counter() - PROCESS_STARTED
    result = {
        "simulator": "nest",
        "nest_version": nest.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "state": a.state,
        "g": g,
        "eta": eta,
        "n_e": n_e,
        "n_i": n_i,
        "c_e": c_e,
        "c_i": c_i,
        "j_mv": a.j,
        "delay_ms": DELAY_MS,
        "resolution_ms": RESOLUTION_MS,
        "nu_ext_hz": eta * 1000.0 * THETA_MV / (a.j * c_e * TAU_M_MS),
        "threads": a.threads,
        "seed": a.seed,
        "neuron_model": MODELS[a.precise][0],
        "generator_model": MODELS[a.precise][1],
        "v_init_mv": a.v_init,
        "t_end": a.t_end,
        "warmup": a.warmup,
        "n_connections": n_connections,
        "import_seconds": IMPORT_SECONDS,
        "build_seconds": build_seconds,
        "warmup_simulate_seconds": warmup_seconds,
        "simulate_seconds": simulate_seconds,
        "build_cpu_seconds": build_cpu_seconds,
        "warmup_cpu_seconds": warmup_cpu_seconds,
        "simulate_cpu_seconds": simulate_cpu_seconds,
        "worker_cpu_seconds": time.process_time(),
        "worker_seconds": whole,
        "seconds_per_simulated_second": {
            # the recorded window's Simulate alone
            "simulate": simulate_seconds / a.t_end,
            # this process, import to JSON, over everything it simulated
            "worker": whole / (a.t_end + a.warmup),
        },
        "peak_rss_mb": peak_rss,
        "own_peak_rss_mb": own_peak_rss_mb(),
        "peak_rss_after_build_mb": rss_after_build,
        "n_spikes_e": int(len(steps_e)),
        "n_spikes_i": int(len(steps_i)),
        "rate_e_hz": float(rate_e.mean()),
        "rate_i_hz": float(rate_i.mean()),
        "cv_isi_e": cv_e,
        "cv_isi_e_neurons": n_cv,
        "spectrum_peak_hz": peak_hz,
        "spectrum": "E rate in %g ms bins, mean removed; Welch, Hann, %d bins, half overlap; "
                    "maximum above %g Hz" % (BIN_MS, WELCH_BINS, SPECTRUM_FROM_HZ),
        # spike_measures.spectrum_peak: segments lengthened to a bin <= 5% of the peak,
        # the peak interpolated between bins
        "spectrum_peak_refined": refined,
        "rates_out": os.path.abspath(a.rates_out) if a.rates_out else None,
    }
    json.dump(result, JSON_OUT, indent=1)
    JSON_OUT.write("\n")
    JSON_OUT.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
