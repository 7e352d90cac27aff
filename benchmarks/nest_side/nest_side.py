#!/usr/bin/env python3
"""Run NEST 3.10 on Brunel's (2000) sparse network, model A, for side-by-side
benchmarking against our `miind` package.

10,000 excitatory and 2,500 inhibitory iaf_psc_delta neurons, C_E = 1,000 and
C_I = 250 inputs each, J = 0.1 mV, delay 1.5 ms, external Poisson input; the states
A-D of Brunel's Fig. 8 set (g, eta). nest_brunel.py holds the NEST code and runs
inside NEST's own virtual environment (--venv), installed there by pip.

Standard library only; NEST is driven by subprocess in its venv.

    python benchmarks/nest_side/nest_side.py --venv .bench/nest-venv --state C \
        --t-end 2.0 [--warmup 0.2] [--threads 1] [--seed K] [--rates-out FILE.npz] \
        [--precise] [--v-init MV]

prints a JSON dict on stdout; progress goes to stderr.
"""

import argparse
import json
import os
import subprocess
import sys
import time

# The sides' shared venv helpers live one directory up (benchmarks/).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reference_venv import pip_install, run_side, venv_python  # noqa: E402

NEST_SERIES = "3.10"
# PyPI's nest-simulator 3.10.0 has a manylinux wheel for CPython 3.11 (x86_64) with
# NEST's C++ kernel inside; numpy and matplotlib come as its dependencies.
REQUIREMENTS = ["nest-simulator==%s.*" % NEST_SERIES]
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nest_brunel.py")
STATES = ("A", "B", "C", "D")
DEFAULT_SEED = 12345


class NestSideError(RuntimeError):
    pass


def log(msg):
    print("[nest_side] " + msg, file=sys.stderr, flush=True)


def _env(threads=1):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    # NEST's threads are its own (local_num_threads); keep OpenMP from adding more.
    env["OMP_NUM_THREADS"] = str(max(1, threads))
    env["PYNEST_QUIET"] = "1"  # no banner
    env["MPLBACKEND"] = "Agg"
    return env


def installed_version(py):
    """NEST's version as `import nest` reports it in the venv, or None."""
    try:
        out = subprocess.run([py, "-c", "import sys, nest; sys.stderr.write(nest.__version__)"],
                             capture_output=True, text=True, timeout=300, env=_env())
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    # the version is the last thing written to stderr (after NEST's own messages)
    last = out.stderr.strip().splitlines()[-1:] or [""]
    return last[0].strip() or None


def _acceptable(version):
    return bool(version) and version.startswith(NEST_SERIES + ".")


def ensure_venv(venv_dir):
    """Create venv_dir (with the current python) and pip-install nest-simulator 3.10.
    Idempotent: returns quickly if NEST 3.10 already imports there.
    Returns {"python": path, "nest_version": ..., "install_seconds": ...}
    (install_seconds is 0 when nothing was installed)."""
    py = venv_python(venv_dir)
    version = installed_version(py) if os.path.exists(py) else None
    if _acceptable(version):
        return {"python": py, "nest_version": version, "install_seconds": 0.0}
    started = time.perf_counter()
    installed = pip_install(venv_dir, REQUIREMENTS, log)
    seconds = time.perf_counter() - started
    version = installed_version(py)
    if not installed or not _acceptable(version):
        raise NestSideError("pip could not install %s into %s (import nest gives %s)"
                            % (" ".join(REQUIREMENTS), venv_dir, version))
    log("installed NEST %s in %.1f s" % (version, seconds))
    return {"python": py, "nest_version": version, "install_seconds": seconds}


def run_brunel(venv_dir, state, t_end, t_warmup=0.2, threads=1, seed=DEFAULT_SEED,
               rates_out=None, n_neurons=None, c_e=None, j_mv=None, precise=False,
               v_init_mv=None):
    """One NEST process (nest_brunel.py): build the network, simulate t_warmup
    seconds unrecorded, then t_end seconds recorded. Returns its JSON dict plus the
    whole-process wall time and whole-process seconds per simulated second.
    n_neurons, c_e, j_mv: N, the in-degree C_E and J for cost studies (None: Brunel's
    12,500, 1,000 and 0.1 mV). precise: the continuous-time models (iaf_psc_delta_ps,
    poisson_generator_ps); v_init_mv: every neuron's initial V_m (None: the worker's
    default, 0 mV)."""
    if state not in STATES:
        raise NestSideError("unknown state %r (known: %s)" % (state, ", ".join(STATES)))
    # the worker bins at 1 ms and NEST's recorder start must lie on its 0.1 ms grid
    if not (t_end > 0 and t_warmup >= 0):
        raise NestSideError("t_end must be > 0 and the warm-up >= 0 (got %g, %g)"
                            % (t_end, t_warmup))
    cmd = [venv_python(venv_dir), WORKER, "--state", state, "--t-end", repr(t_end),
           "--warmup", repr(t_warmup), "--threads", str(threads), "--seed", str(seed)]
    if rates_out:
        cmd += ["--rates-out", os.path.abspath(rates_out)]
    for option, value in (("--neurons", n_neurons), ("--c-e", c_e), ("--j", j_mv)):
        if value is not None:
            cmd += [option, repr(value)]
    if precise:
        cmd.append("--precise")
    if v_init_mv is not None:
        cmd += ["--v-init", repr(float(v_init_mv))]
    log("state %s: %g s after %g s warm-up, %d thread(s)" % (state, t_end, t_warmup, threads))
    started = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=_env(threads))
    whole = time.perf_counter() - started
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-3:] or ["?"]
        raise NestSideError("NEST run of state %s failed (exit %d): %s"
                            % (state, r.returncode, " | ".join(tail)))
    try:
        result = json.loads(r.stdout)
    except ValueError:
        raise NestSideError("NEST run of state %s printed no JSON: %r"
                            % (state, r.stdout.strip()[-200:]))
    result["whole_process_seconds"] = whole
    result["seconds_per_simulated_second"]["whole_process"] = whole / (t_end + t_warmup)
    log("state %s: E %.2f Hz, I %.2f Hz, build %.1f s, Simulate %.1f s, whole %.1f s"
        % (state, result["rate_e_hz"], result["rate_i_hz"], result["build_seconds"],
           result["simulate_seconds"], whole))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", required=True, help="virtual environment for NEST")
    ap.add_argument("--state", required=True, choices=STATES, help="Brunel's state (g, eta)")
    ap.add_argument("--t-end", type=float, required=True,
                    help="recorded simulated seconds, after the warm-up")
    ap.add_argument("--warmup", type=float, default=0.2,
                    help="simulated seconds before recording (default 0.2)")
    ap.add_argument("--threads", type=int, default=1, help="NEST's local_num_threads")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="NEST's rng_seed")
    ap.add_argument("--rates-out", help="write the 1 ms-binned E and I rates to this .npz")
    ap.add_argument("--precise", action="store_true",
                    help="continuous time: iaf_psc_delta_ps and poisson_generator_ps")
    ap.add_argument("--v-init", type=float, help="initial V_m of every neuron, mV (default 0)")
    a = ap.parse_args(argv)

    def work():
        setup = ensure_venv(a.venv)
        res = run_brunel(a.venv, a.state, a.t_end, a.warmup, a.threads, a.seed, a.rates_out,
                         precise=a.precise, v_init_mv=a.v_init)
        res["install_seconds"] = setup["install_seconds"]
        return res

    res = run_side("nest_side", "NEST", NestSideError, work)
    if res is None:
        return 1
    sys.stdout.write(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
