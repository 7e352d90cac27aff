"""One point of the synchrony study (examples/synchrony/) in Brian2: runs INSIDE the
Brian2 venv.

Not imported by anything of ours: brian2_side.run_synchrony runs it with the venv's
python,

    <venv>/bin/python brian2_synchrony.py --spec SPEC.json --out OUT.npz --cache-dir DIR

SPEC.json (written by benchmarks/validate_synchrony.py from the study's own simulation
file) holds the model kind and its parameters in the model file's units, the
threshold and reset, N, the efficacy of each synapse, the delay, the steps, the
Poisson inputs (rate, efficacy) and each neuron's initial state. The script prints one
JSON dict on stdout (progress goes to stderr) and writes OUT.npz: `spike_t` (s),
`spike_i`, and `v` (mV), each neuron's v at the end of every sample step (n_samples,
N), as `miind run` records it: after the step's reset.

The network, as a Brian2 user writes it:
* lif: `dv/dt = (E_l - v)/tau`, method 'exact'; adex (Brette & Gerstner 2005, as our
  `adex` kind: meshgen/model_catalogue.py): method 'rk4'. Threshold `v >= threshold`
  (our kernels' test), reset `v = reset` (adex: `v = V_r; w += b`), no refractory
  period (the study's models have none).
* All-to-all excitatory synapses without autapses (`connect(condition="i != j")`),
  `on_pre` adding the efficacy to v, one homogeneous delay.
* Poisson inputs (the study's background: +-0.25 mV at 1 kHz each): a PoissonInput of
  one source (`N=1`) each. At 1 kHz and a 0.01 ms step a source fires in 1% of the
  steps, so the binomial's at most one event per step (benchmarks/brian2_side/
  README.md, Surprises) takes 1% of the variance away.
"""

import argparse
import json
import resource
import sys
import time

PROCESS_STARTED = time.perf_counter()
import numpy as np  # noqa: E402
import brian2  # noqa: E402
from brian2 import (Hz, Network, NeuronGroup, PoissonInput, SpikeMonitor,  # noqa: E402
                    StateMonitor, Synapses, defaultclock, mV, nS, pA, pF, prefs, second)

IMPORT_SECONDS = time.perf_counter() - PROCESS_STARTED

# The units of each kind's parameters in our model files (meshgen/models.py,
# meshgen/model_catalogue.py).
UNITS = {
    "lif": {"tau": second, "E_l": mV},
    "adex": {"C": pF, "g_L": nS, "E_L": mV, "V_T": mV, "Delta_T": mV, "tau_w": second,
             "a": nS, "b": pA, "V_r": mV, "I": pA},
}
EQUATIONS = {
    "lif": "dv/dt = (E_l - v) / tau : volt",
    "adex": """
dv/dt = (-g_L * (v - E_L) + g_L * Delta_T * exp((v - V_T) / Delta_T) - w + I) / C : volt
dw/dt = (a * (v - E_L) - w) / tau_w : amp
""",
}
RESET = {"lif": "v = v_reset", "adex": "v = v_reset; w += b"}
# lif is linear: Brian2 solves it exactly between steps. AdEx needs a numerical method;
# rk4 is ours too.
METHOD = {"lif": "exact", "adex": "rk4"}
INITIAL_UNITS = {"v": mV, "w": pA}


def log(message):
    print("[brian2_synchrony] " + message, file=sys.stderr, flush=True)


def build(spec):
    """The network of `spec`: (objects, group, spike monitor, v monitor)."""
    kind = spec["kind"]
    namespace = {name: value * UNITS[kind][name] for name, value in spec["parameters"].items()}
    namespace.update(v_threshold=spec["threshold"] * mV, v_reset=spec["reset_v"] * mV)
    group = NeuronGroup(spec["n_neurons"], EQUATIONS[kind], threshold="v >= v_threshold",
                        reset=RESET[kind], method=METHOD[kind], namespace=namespace,
                        name="net")
    for variable, values in spec["initial"].items():
        setattr(group, variable, np.asarray(values) * INITIAL_UNITS[variable])
    objects = [group]
    if spec["efficacy"] > 0.0:
        synapses = Synapses(group, group, on_pre="v_post += efficacy",
                            delay=spec["delay"] * second,
                            namespace={"efficacy": spec["efficacy"] * mV}, name="coupling")
        synapses.connect(condition="i != j")
        objects.append(synapses)
    for source in spec["poisson_inputs"]:
        objects.append(PoissonInput(group, "v", N=1, rate=source["rate"] * Hz,
                                    weight=source["efficacy"] * mV))
    spikes = SpikeMonitor(group, name="spikes")
    # 'start' of a step holds the state the step before left, after its reset: the
    # end-of-step state `miind run` records (but for neurons that step's arrivals lifted
    # over the threshold, which fire and reset at the next step's test; ours fire at the
    # arrival). The first sample (t = 0) is the initial state; the state at t_end is
    # read after the run.
    v_monitor = StateMonitor(group, "v", record=True, dt=spec["sample_dt"] * second,
                             name="v_samples")
    return objects + [spikes, v_monitor], group, spikes, v_monitor


def code_targets(network):
    """The classes of the code objects that ran (CythonCodeObject only, when the
    target is cython)."""
    return sorted({c.__class__.__name__ for obj in network.sorted_objects
                   for c in getattr(obj, "_code_objects", [])})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spec", required=True, help="the point's JSON spec")
    ap.add_argument("--out", required=True, help="the .npz of spikes and v samples")
    ap.add_argument("--cache-dir", required=True, help="Brian2's Cython cache directory")
    a = ap.parse_args(argv)
    with open(a.spec) as f:
        spec = json.load(f)
    prefs.codegen.target = "cython"
    prefs.codegen.runtime.cython.cache_dir = a.cache_dir
    defaultclock.dt = spec["dt"] * second
    brian2.seed(spec["seed"])

    started = time.perf_counter()
    objects, group, spikes, v_monitor = build(spec)
    network = Network(*objects)
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    network.run(spec["t_end"] * second)
    run_seconds = time.perf_counter() - started
    log("%s, N %d, efficacy %g mV, %d Poisson inputs: run %.1f s"
        % (spec["kind"], spec["n_neurons"], spec["efficacy"], len(spec["poisson_inputs"]),
           run_seconds))

    v = np.vstack([np.asarray(v_monitor.v_[:, 1:]).T, np.asarray(group.v_[:])[None, :]])
    np.savez(a.out, spike_t=np.asarray(spikes.t_[:]), spike_i=np.asarray(spikes.i[:]),
             v=v / float(mV))
    result = {
        "simulator": "brian2", "brian2_version": brian2.__version__,
        "numpy_version": np.__version__, "codegen_target": prefs.codegen.target,
        "code_objects": code_targets(network), "method": METHOD[spec["kind"]],
        "dt": spec["dt"], "sample_dt": spec["sample_dt"], "n_samples": int(v.shape[0]),
        "n_spikes": int(spikes.num_spikes),
        "n_synapses": int(len(network["coupling"])) if spec["efficacy"] > 0.0 else 0,
        "import_seconds": IMPORT_SECONDS, "build_seconds": build_seconds,
        "run_seconds": run_seconds, "worker_seconds": time.perf_counter() - PROCESS_STARTED,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
