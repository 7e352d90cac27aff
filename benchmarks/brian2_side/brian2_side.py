#!/usr/bin/env python3
"""Run Brian2 2.9 on the direct-simulation workloads, for side-by-side benchmarking
against our `miind run` (method = "direct").

Workloads (brian2_workload.py holds the Brian2 code; it runs inside the venv):
  lif   100,000 LIF neurons (tau = 10 ms, E_l = reset = -65 mV, threshold -50.2 mV,
        no refractory period), each driven by its own Poisson input, 1000 Hz x 1 mV;
        PoissonInput(N=1) and method 'exact'.
  adex  10,000 AdEx neurons (Brette & Gerstner 2005), cut-off V_T + 5 Delta_T,
        Poisson input 2000 Hz x 1 mV in v; method 'euler'.

Brian2 is installed into its own virtual environment (--venv), with numpy < 2.3,
and runs with its Cython code generation target (it compiles with gcc; the
compiled extensions are cached in <venv>/brian2-cython-cache).

Standard library only; Brian2 is driven by subprocess in its venv.

    python benchmarks/brian2_side/brian2_side.py --venv .bench/brian2-venv \
        --workload lif|adex|adex_grid [--neurons N] [--dt S] [--t-end S] [--seed K] \
        [--input binomial|poisson] [--when synapses|before_thresholds]

prints a JSON dict on stdout; progress goes to stderr.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time

# The sides' shared venv helpers live one directory up (benchmarks/).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reference_venv import pip_install, run_side, venv_python  # noqa: E402

BRIAN2_SERIES = "2.9"
# Brian2 2.9 does not support numpy 2.3 (the issue's requirement).
REQUIREMENTS = ["brian2==%s.*" % BRIAN2_SERIES, "numpy<2.3"]
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "brian2_workload.py")
BRUNEL_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "brian2_brunel.py")
SYNCHRONY_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "brian2_synchrony.py")
CACHE_SUBDIR = "brian2-cython-cache"

# Default sizes and steps of the two workloads (the issue's).
DEFAULTS = {
    "lif": {"n_neurons": 100000, "t_end": 1.0, "dt": 1e-4},
    "adex": {"n_neurons": 10000, "t_end": 1.0, "dt": 1e-4},
    "adex_grid": {"n_neurons": 10000, "t_end": 1.0, "dt": 1e-4},  # bench_2d.py
}


class Brian2SideError(RuntimeError):
    pass


def log(msg):
    print("[brian2_side] " + msg, file=sys.stderr, flush=True)


def installed_versions(py):
    """{distribution: version} of what matters in the venv, or None if brian2 is absent."""
    code = ("import importlib.metadata as m, json\n"
            "out = {}\n"
            "for d in ('brian2', 'numpy', 'cython', 'sympy', 'setuptools'):\n"
            "    try:\n"
            "        out[d] = m.version(d)\n"
            "    except m.PackageNotFoundError:\n"
            "        out[d] = None\n"
            "print(json.dumps(out))\n")
    try:
        out = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    versions = json.loads(out.stdout)
    return versions if versions.get("brian2") else None


def _version_tuple(text):
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _acceptable(versions):
    return bool(versions and versions.get("brian2", "").startswith(BRIAN2_SERIES + ".")
                and versions.get("numpy") and _version_tuple(versions["numpy"]) < (2, 3)
                and versions.get("cython"))


def check_compiler():
    """Brian2's Cython target compiles C++ at run time: it needs a compiler and the
    Python headers. Raise with what is missing."""
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("gcc")
    if compiler is None:
        raise Brian2SideError("no C/C++ compiler (g++/gcc) on PATH: Brian2's Cython target "
                              "needs one (apt-get install g++)")
    include = sysconfig.get_paths().get("include") or ""
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise Brian2SideError("Python.h not found in %s: Brian2's Cython target needs the "
                              "Python headers (apt-get install python3-dev)" % include)
    return compiler


def ensure_venv(venv_dir):
    """Create venv_dir (with the current python) and pip-install brian2 2.9 with
    numpy < 2.3. Idempotent: returns quickly if acceptable versions are installed.
    Returns {"python": path, "versions": {...}, "compiler": path}."""
    compiler = check_compiler()
    py = venv_python(venv_dir)
    versions = installed_versions(py) if os.path.exists(py) else None
    if not _acceptable(versions):
        installed = pip_install(venv_dir, REQUIREMENTS, log)
        versions = installed_versions(py)
        if not installed or not _acceptable(versions):
            raise Brian2SideError("pip could not install %s into %s (found %s)"
                                  % (" ".join(REQUIREMENTS), venv_dir, versions))
        log("installed: " + ", ".join("%s %s" % kv for kv in sorted(versions.items())))
    return {"python": py, "versions": versions, "compiler": compiler}


def _env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    # Brian2's Cython target is single-threaded; so is our direct kernel.
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run_worker(cmd, what):
    """One worker process: its JSON dict plus the whole-process wall time."""
    started = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    whole = time.perf_counter() - started
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-3:] or ["?"]
        raise Brian2SideError("Brian2 %s run failed (exit %d): %s"
                              % (what, r.returncode, " | ".join(tail)))
    result = json.loads(r.stdout)
    result["whole_process_seconds"] = whole
    return result


def run_workload(venv_dir, workload, n_neurons=None, t_end=None, dt=None, seed=1,
                 input_kind="binomial", when="synapses", target="cython"):
    """One Brian2 process: build, warm-up run, timed run (see brian2_workload.py).
    Returns its JSON dict plus the whole-process wall time."""
    if workload not in DEFAULTS:
        raise Brian2SideError("unknown workload %r (known: %s)" % (workload, ", ".join(DEFAULTS)))
    d = DEFAULTS[workload]
    n_neurons = d["n_neurons"] if n_neurons is None else n_neurons
    t_end = d["t_end"] if t_end is None else t_end
    dt = d["dt"] if dt is None else dt
    py = venv_python(venv_dir)
    cache = os.path.join(os.path.abspath(venv_dir), CACHE_SUBDIR)
    os.makedirs(cache, exist_ok=True)
    cmd = [py, WORKER, "--workload", workload, "--neurons", str(n_neurons), "--dt", repr(dt),
           "--t-end", repr(t_end), "--seed", str(seed), "--cache-dir", cache,
           "--input", input_kind, "--poisson-when", when, "--target", target]
    log("%s: %d neurons, dt %g s, %g s simulated, input %s (%s)"
        % (workload, n_neurons, dt, t_end, input_kind, when))
    result = _run_worker(cmd, workload)
    whole = result["whole_process_seconds"]
    if target == "cython" and result["codegen_targets_ran"] != ["cython"]:
        raise Brian2SideError("Brian2 ran code generation targets %s, not cython only"
                              % result["codegen_targets_ran"])
    log("%s: rate %.4f Hz, net.run %.2f s (warm-up %.2f s), whole process %.2f s"
        % (workload, result["rate_hz"], result["run_seconds"], result["warmup_run_seconds"],
           whole))
    return result


def run_brunel(venv_dir, g=5.0, eta=2.0, t_end=1.0, warmup=0.0, n_neurons=12500, seed=1,
               c_e=None, j_mv=None):
    """One Brian2 process on Brunel's network (brian2_brunel.py): its JSON dict plus the
    whole-process wall time. c_e, j_mv: the in-degree C_E and J for cost studies (None:
    Brunel's 1,000 and 0.1 mV)."""
    cache = os.path.join(os.path.abspath(venv_dir), CACHE_SUBDIR)
    os.makedirs(cache, exist_ok=True)
    cmd = [venv_python(venv_dir), BRUNEL_WORKER, "--g", repr(g), "--eta", repr(eta),
           "--neurons", str(n_neurons), "--t-end", repr(t_end), "--warmup", repr(warmup),
           "--seed", str(seed), "--cache-dir", cache]
    for option, value in (("--c-e", c_e), ("--j", j_mv)):
        if value is not None:
            cmd += [option, repr(value)]
    log("brunel: %d neurons, g %g, eta %g, %g s after %g s" % (n_neurons, g, eta, t_end, warmup))
    result = _run_worker(cmd, "brunel")
    whole = result["whole_process_seconds"]
    log("brunel: E %.2f Hz, run %.1f s, whole process %.1f s, peak %.0f MB"
        % (result["rate_e_hz"], result["run_seconds"], whole, result["peak_rss_mb"]))
    return result


def run_synchrony(venv_dir, spec_path, out_path, cache_dir=None):
    """One Brian2 process on one point of the synchrony study (brian2_synchrony.py: the
    spec's network; spikes and v samples written to `out_path`): its JSON dict plus the
    whole-process wall time. `cache_dir`: the Cython cache, by default the venv's."""
    cache = cache_dir or os.path.join(os.path.abspath(venv_dir), CACHE_SUBDIR)
    os.makedirs(cache, exist_ok=True)
    cmd = [venv_python(venv_dir), SYNCHRONY_WORKER, "--spec", str(spec_path), "--out",
           str(out_path), "--cache-dir", str(cache)]
    result = _run_worker(cmd, "synchrony")
    if result["code_objects"] != ["CythonCodeObject"]:
        raise Brian2SideError("Brian2 ran code objects %s, not Cython only"
                              % result["code_objects"])
    return result


def run_lif(venv_dir, n_neurons=100000, t_end=1.0, dt=1e-4, **options):
    return run_workload(venv_dir, "lif", n_neurons, t_end, dt, **options)


def run_adex(venv_dir, n_neurons=10000, t_end=1.0, dt=1e-4, **options):
    return run_workload(venv_dir, "adex", n_neurons, t_end, dt, **options)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", required=True, help="virtual environment for Brian2")
    ap.add_argument("--workload", required=True, choices=sorted(DEFAULTS))
    ap.add_argument("--neurons", type=int, help="default: 100000 (lif), 10000 (adex)")
    ap.add_argument("--dt", type=float, help="time step in s (default 1e-4)")
    ap.add_argument("--t-end", type=float, help="simulated seconds (default 1.0)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--input", default="binomial", choices=("binomial", "poisson"),
                    help="binomial: PoissonInput(N=1) (the workload); poisson: a Poisson "
                         "count per step via run_regularly (a variant)")
    ap.add_argument("--when", default="synapses",
                    help="scheduling slot of the input (default 'synapses', Brian2's default "
                         "for PoissonInput; 'before_thresholds' is a variant)")
    ap.add_argument("--target", default="cython", choices=("cython", "numpy", "auto"),
                    help="Brian2 code generation target (default cython)")
    a = ap.parse_args(argv)

    def work():
        started = time.perf_counter()
        setup = ensure_venv(a.venv)
        log("venv ready (%.1f s)" % (time.perf_counter() - started))
        res = run_workload(a.venv, a.workload, a.neurons, a.t_end, a.dt, a.seed, a.input,
                           a.when, a.target)
        res["venv_versions"] = setup["versions"]
        res["compiler"] = setup["compiler"]
        return res

    res = run_side("brian2_side", "Brian2", Brian2SideError, work)
    if res is None:
        return 1
    sys.stdout.write(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
