#!/usr/bin/env python3
"""Run MIIND 1.0.21 (the C++ simulator, from PyPI) on its own public test case
for side-by-side benchmarking against our `miind` package.

The case is MIIND's system test 24 ("Generate LIF Mesh and Model"):
LIF neuron, tau = 10 ms, E_l = reset = -65 mV, threshold -50.2 mV, no
refractory period, Poisson input 1000 Hz with 1 mV jumps, 1 s simulated.

Everything MIIND generates (mesh, model, matrix, rate files) lives in
--workdir; only the simulation XML is ours (written by this script).
MIIND itself is installed into its own virtual environment (--venv).

Standard library only; MIIND is driven by subprocess in its venv.

    python benchmarks/miind_side/miind_side.py --venv .bench/miind-venv \
        --workdir .bench/miind-work [--t-end 1.0] [--repeat N]

prints a JSON dict on stdout; progress goes to stderr.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

# The sides' shared venv helpers live one directory up (benchmarks/).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from reference_venv import pip_install, run_side, venv_python  # noqa: E402

MIIND_VERSION = "1.0.21"
# The wheels on PyPI are for CPython 3.6-3.11 (x86_64 Linux); numpy/scipy are
# pulled in as dependencies.
MIIND_REQUIREMENT = "miind==" + MIIND_VERSION

# Parameters of MIIND's system test 24 (miind/system_tests.py, TestGenerateMeshModel)
BASENAME = "lif"
RESET_MV = -65.0
THRESHOLD_MV = -50.2
EFFICACY_MV = 1.0
INPUT_RATE_HZ = 1000.0
NETWORK_DT = 0.001  # <t_step> and <TimeStep> in MIIND's testfiles/24/lif.xml
MC_POINTS = 10000
EXACT_RATE_HZ = 7.463  # event-driven Monte Carlo reference
MIIND_TEST_ACCEPTS = (8.75, 8.78)

# The commands of test 24, in order (python -m miind.miindio ...).
# generate-lif-mesh with only a basename uses LifMeshGenerator's defaults:
# tau=10e-3 s, V_threshold=-50.0, V_rest=-65.0, V_min=-80.0, dt=0.0001 s, N_grid=300.
GEN_COMMANDS = [
    ("generate_lif_mesh", ["generate-lif-mesh", BASENAME]),
    ("generate_model", ["generate-model", BASENAME, str(RESET_MV), str(THRESHOLD_MV)]),
    ("generate_empty_fid", ["generate-empty-fid", BASENAME]),
    # basename, V efficacy, MC points per cell, W efficacy, reset W shift, use area calculation
    ("generate_matrix", ["generate-matrix", BASENAME, "1", str(MC_POINTS), "0.0", "0.0", "True"]),
]
MATRIX_FILE = BASENAME + "_1_0_0_0_.mat"
# The wheel's model archive: build/examples/model_archive/<name>, each an XML that
# `python -m miind.run` runs with its model and transform files.
MODEL_ARCHIVE = ("build", "examples", "model_archive")

# The AdEx of the archive's Adex example, as a script for MIIND's grid generator
# (argv: cells in v, cells in w). No generator script ships with the example; the
# values are read off its files: the drift of its transform file (mesh step 1e-5 s)
# is Brette & Gerstner's AdEx (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV,
# V_T = -50.4 mV, Delta_T = 2 mV, a = 4 nS, tau_w = 144 ms) to within the cell
# averaging; its .model file has threshold -40 mV and V_reset -70 mV; its reset
# mapping shifts w by 31.25 strips of 3.2 pA = 100 pA; its grid is v in [-80, -35] mV
# (400 cells), w in [-20, 300] pA (100 strips). generate() takes time in ms with
# timescale 0.001, so a timestep of 0.01 is the example's 1e-5 s. Checked: this script
# at 400 x 100 reproduces the example's reset mapping exactly and its transform file
# to 1e-3 (L1 per cell) below v = -40.6 mV; they differ only past the threshold
# (v > -37.4 mV), where odeint reports excess work and mass is reset anyway.
ADEX_GRID_BASENAME = "adex"
ADEX_GRID_SCRIPT = """import sys
import numpy as np
import miind.grid_generate as grid_generate


def adex(y, t):
    C, g_l, E_l, v_t, delta_t, a, tau_w = 281.0, 30.0, -70.6, -50.4, 2.0, 4.0, 144.0
    v, w = y
    return [(-g_l * (v - E_l) + g_l * delta_t * np.exp((v - v_t) / delta_t) - w) / C,
            (a * (v - E_l) - w) / tau_w]


# func, timestep (ms), timescale, tolerance, basename, threshold, reset, reset w shift,
# v min, v max, w min, w max, cells in v, cells in w
grid_generate.generate(adex, 0.01, 0.001, 1e-12, "adex", -40.0, -70.0, 100.0,
                       -80.0, -35.0, -20.0, 300.0, int(sys.argv[1]), int(sys.argv[2]))
"""

# what `python -m miind.run` imports before it does any work
RUN_IMPORTS = "import pylab, matplotlib.pyplot, miind.miind_api, miind.miindsim"

# Shared system libraries MIIND's extension modules link against that are not
# bundled in miind.libs/ (soname -> Debian package).
DEBIAN_PACKAGES = {
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libX11.so.6": "libx11-6",
    "libXext.so.6": "libxext6",
    "libICE.so.6": "libice6",
    "libxcb.so.1": "libxcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libbsd.so.0": "libbsd0",
    "libmd.so.0": "libmd0",
    "libstdc++.so.6": "libstdc++6",
    "libgomp.so.1": "libgomp1",
}

SIM_XML = """<Simulation>
<WeightType>DelayedConnection</WeightType>
<Algorithms>
<Algorithm type="MeshAlgorithm" name="E" modelfile="{base}.model" >
<TimeStep>{dt}</TimeStep>
<MatrixFile>{mat}</MatrixFile>
</Algorithm>
<Algorithm type="RateFunctor" name="ExcInput">
<expression>{rate}</expression>
</Algorithm>
</Algorithms>
<Nodes>
<Node algorithm="E" name="LIF" type="EXCITATORY_DIRECT" />
<Node algorithm="ExcInput" name="Inp" type="NEUTRAL" />
</Nodes>
<Connections>
<Connection In="Inp" Out="LIF">1 {eff} 0</Connection>
</Connections>
<Reporting>
<Rate node="LIF" t_interval="{dt}"/>
</Reporting>
<SimulationRunParameter>
<SimulationName>{base}</SimulationName>
<t_end>{t_end}</t_end>
<t_step>{dt}</t_step>
<name_log>{base}.log</name_log>
</SimulationRunParameter>
</Simulation>
"""


class MiindSideError(RuntimeError):
    pass


def log(msg):
    print("[miind_side] " + msg, file=sys.stderr, flush=True)


def _env(workdir, threads=1):
    """Environment for MIIND subprocesses: headless matplotlib, a private
    HOME so that miindio's ~/.miind_settings lands in the workdir, and
    OMP_NUM_THREADS=threads (0: leave it to MIIND/OpenMP, i.e. all cores)."""
    env = dict(os.environ)
    if threads and threads > 0:
        env["OMP_NUM_THREADS"] = str(threads)
    else:
        env.pop("OMP_NUM_THREADS", None)
    env["MPLBACKEND"] = "Agg"
    home = os.path.join(os.path.abspath(workdir), "home")
    os.makedirs(home, exist_ok=True)
    env["HOME"] = home
    env["MPLCONFIGDIR"] = os.path.join(home, "mpl")
    env.pop("PYTHONPATH", None)
    return env


def _installed_version(py):
    try:
        out = subprocess.run(
            [py, "-c", "import importlib.metadata as m; print(m.version('miind'))"],
            capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _missing_system_libs(py):
    """Try importing MIIND's CPU simulator; return (ok, missing sonames, message)."""
    out = subprocess.run(
        [py, "-c", "import miind.miindsim, miind.miindgen"],
        capture_output=True, text=True, timeout=300)
    if out.returncode == 0:
        return True, [], ""
    missing = sorted(set(re.findall(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object",
                                    out.stderr)))
    # the import stops at the first missing library: also ask ldd for all of them
    try:
        so_dir = _package_dir(py)
        for so in ("miindsim.so", "miindgen.so"):
            path = os.path.join(so_dir, so)
            if os.path.exists(path) and shutil.which("ldd"):
                ldd = subprocess.run(["ldd", path], capture_output=True, text=True)
                missing += re.findall(r"^\s*(\S+) => not found", ldd.stdout, re.M)
    except (OSError, subprocess.SubprocessError):
        pass
    last = (out.stderr.strip().splitlines() or ["?"])[-1]
    return False, sorted(set(missing)), last


def _package_dir(py):
    """Where the miind package is installed in the venv of interpreter py."""
    return subprocess.run(
        [py, "-c", "import importlib.util as u, os; "
                   "print(os.path.dirname(u.find_spec('miind').origin))"],
        capture_output=True, text=True, timeout=120).stdout.strip()


def example_dir(venv_dir, name):
    """A directory of MIIND's model archive as installed by its wheel, e.g. 'Adex'."""
    path = os.path.join(_package_dir(venv_python(venv_dir)), *MODEL_ARCHIVE, name)
    if not os.path.isdir(path):
        raise MiindSideError("MIIND's example %s is not in its package (%s)" % (name, path))
    return path


def run_xml(venv_dir, workdir, xml_name, threads=1):
    """`python -m miind.run xml_name` in workdir (how MIIND runs a simulation file);
    returns (whole-process seconds, stdout)."""
    return _timed([venv_python(venv_dir), "-m", "miind.run", xml_name], workdir,
                  _env(workdir, threads), "miind.run " + xml_name)


def generate_adex_grid(venv_dir, workdir, n_v, n_w, threads=1):
    """MIIND's grid generator (miind.grid_generate.generate) on the AdEx of its
    example, n_v cells in v by n_w in w over the example's ranges, in workdir;
    returns the whole-process seconds."""
    os.makedirs(workdir, exist_ok=True)
    script = os.path.join(workdir, "generate_adex_grid.py")
    with open(script, "w") as f:
        f.write(ADEX_GRID_SCRIPT)
    log("miind.grid_generate.generate: AdEx, %d x %d cells (v x w)" % (n_v, n_w))
    seconds, _ = _timed([venv_python(venv_dir), script, str(n_v), str(n_w)], workdir,
                        _env(workdir, threads), "grid_generate %dx%d" % (n_v, n_w))
    if not os.path.exists(os.path.join(workdir, ADEX_GRID_BASENAME + "_0_0_0_0_.tmat")):
        raise MiindSideError("MIIND's grid generator wrote no transform file in " + workdir)
    return seconds


def _apt_install(packages):
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    log("installing system libraries MIIND needs: apt-get install -y " + " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], stdout=sys.stderr, stderr=sys.stderr, env=env)
    r = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends"] + packages,
                       stdout=sys.stderr, stderr=sys.stderr, env=env)
    return r.returncode == 0


def ensure_venv(venv_dir, python=None):
    """Create venv_dir (with the current python) and pip-install miind==1.0.21.
    Idempotent: returns quickly if the right version is already importable."""
    py = venv_python(venv_dir)
    if os.path.exists(py) and _installed_version(py) == MIIND_VERSION:
        ok, missing, msg = _missing_system_libs(py)
        if ok:
            return py
    else:
        if sys.version_info[:2] > (3, 11) or sys.version_info[:2] < (3, 6):
            log("warning: MIIND %s ships wheels for CPython 3.6-3.11 only; this is %d.%d"
                % (MIIND_VERSION, sys.version_info[0], sys.version_info[1]))
        installed = pip_install(venv_dir, [MIIND_REQUIREMENT], log)
        if not installed or _installed_version(py) != MIIND_VERSION:
            raise MiindSideError("pip could not install %s into %s" % (MIIND_REQUIREMENT, venv_dir))
        ok, missing, msg = _missing_system_libs(py)
        if ok:
            return py
    # MIIND installed but its C++ extension does not load
    pkgs = sorted({DEBIAN_PACKAGES.get(m, "?" + m) for m in missing})
    if missing:
        log("MIIND needs system libraries not on this machine: %s (Debian packages: %s)"
            % (", ".join(missing), ", ".join(pkgs)))
        known = [p for p in pkgs if not p.startswith("?")]
        if known and _apt_install(known):
            ok, missing, msg = _missing_system_libs(py)
            if ok:
                return py
    raise MiindSideError("MIIND is installed but miind.miindsim does not import: %s%s"
                         % (msg, (" (needs: apt-get install " + " ".join(pkgs) + ")") if pkgs else ""))


def _timed(cmd, cwd, env, label):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:] or ["?"]
        raise MiindSideError("%s failed (exit %d): %s" % (label, r.returncode, tail[0]))
    return dt, r.stdout


def count_cells(model_path):
    """Number of cells in MIIND's mesh: quadrilaterals per <Strip> (8 numbers
    each) summed over strips of the .model file (the stationary cell included)."""
    n = 0
    with open(model_path) as f:
        text = f.read()
    for strip in re.findall(r"<Strip>([^<]*)</Strip>", text):
        n += len(strip.split()) // 8
    m = re.search(r"<TimeStep>\s*([^<\s]+)\s*</TimeStep>", text)
    return n, (float(m.group(1)) if m else None)


def _read_rate(path):
    ts, rs = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                ts.append(float(parts[0]))
                rs.append(float(parts[1]))
    return ts, rs


def generate(venv_dir, workdir, threads=1):
    """Run test 24's mesh/model/fid/matrix generation in workdir; return timings."""
    py = venv_python(venv_dir)
    os.makedirs(workdir, exist_ok=True)
    env = _env(workdir, threads)
    for ext in (".mesh", ".stat", ".rev", ".model", ".fid", ".res", ".lost"):
        p = os.path.join(workdir, BASENAME + ext)
        if os.path.exists(p):
            os.remove(p)
    if os.path.exists(os.path.join(workdir, MATRIX_FILE)):
        os.remove(os.path.join(workdir, MATRIX_FILE))
    steps = {}
    for key, args in GEN_COMMANDS:
        log("python -m miind.miindio " + " ".join(args))
        steps[key], _ = _timed([py, "-m", "miind.miindio"] + args, workdir, env,
                               "miindio " + args[0])
    for f in (BASENAME + ".model", MATRIX_FILE):
        if not os.path.exists(os.path.join(workdir, f)):
            raise MiindSideError("MIIND did not produce " + f)
    return steps


def simulate(venv_dir, workdir, t_end=1.0, threads=1):
    """Write our XML and run `python -m miind.run lif.xml`; return (seconds, stdout, rate file)."""
    xml = os.path.join(workdir, BASENAME + ".xml")
    with open(xml, "w") as f:
        f.write(SIM_XML.format(base=BASENAME, dt=NETWORK_DT, mat=MATRIX_FILE,
                               rate=repr(INPUT_RATE_HZ), eff=EFFICACY_MV, t_end=t_end))
    rate_file = os.path.join(workdir, BASENAME + "_", "rate_0")
    if os.path.exists(rate_file):
        os.remove(rate_file)
    log("python -m miind.run %s.xml  (t_end=%g)" % (BASENAME, t_end))
    secs, out = run_xml(venv_dir, workdir, BASENAME + ".xml", threads)
    # miind.run prints exceptions and still exits 0: check its output
    if not os.path.exists(rate_file) or os.path.getsize(rate_file) == 0:
        tail = out.strip().splitlines()[-1:] or ["no output"]
        raise MiindSideError("miind.run wrote no rate file: " + tail[0])
    return secs, out, rate_file


def run_public_case(venv_dir, workdir, t_end=1.0, repeat=1, with_series=True, threads=1):
    """Generate MIIND's mesh/model/matrix for test 24 in workdir, run the
    simulation `repeat` times and return a dict of whole-process wall times
    (mesh_seconds: total and per command; run_seconds: min/median/all),
    MIIND's own timer for the simulation loop (run_internal_seconds),
    Python start-up cost alone (startup_seconds), the rate MIIND reports
    (rate_hz: second-half mean, whole-run mean, final), n_cells, dt (the
    mesh time step), network_dt, and the rate series (t, rate_hz).

    threads sets OMP_NUM_THREADS for MIIND (default 1; 0 = MIIND's default,
    all cores): with 2 OpenMP threads on a 2-core machine that is also
    running anything else, MIIND's run time varies by 10x or more."""
    workdir = os.path.abspath(workdir)
    steps = generate(venv_dir, workdir, threads)
    run_times, internal = [], []
    for i in range(max(1, repeat)):
        secs, out, rate_file = simulate(venv_dir, workdir, t_end, threads)
        run_times.append(secs)
        m = re.search(r"([0-9.]+)s wall", out)  # boost::timer line printed by MIIND
        if m:
            internal.append(float(m.group(1)))
    # Python start-up + import cost alone (no MIIND work), to read the figures above
    py, env = venv_python(venv_dir), _env(workdir, threads)
    n_start = max(1, min(repeat, 3))
    startup = {
        "miindio_quit": min(_timed([py, "-m", "miind.miindio", "quit"], workdir, env,
                                   "miindio quit")[0] for _ in range(n_start)),
        "run_imports": min(_timed([py, "-c", RUN_IMPORTS], workdir, env,
                                  "import miind.miindsim")[0] for _ in range(n_start)),
    }
    ts, rs = _read_rate(rate_file)
    n_cells, mesh_dt = count_cells(os.path.join(workdir, BASENAME + ".model"))
    half = [r for t, r in zip(ts, rs) if t >= t_end / 2.0]
    res = {
        "case": "MIIND system test 24: LIF tau=10ms E_l=reset=-65mV theta=-50.2mV, "
                "Poisson 1000 Hz x 1 mV, t_end=%gs" % t_end,
        "miind_version": MIIND_VERSION,
        "commands": ["python -m miind.miindio " + " ".join(a) for _, a in GEN_COMMANDS]
                    + ["python -m miind.run %s.xml" % BASENAME],
        "mesh_seconds": {"total": sum(steps.values()), **steps},
        "run_seconds": {"min": min(run_times), "median": statistics.median(run_times),
                        "all": run_times, "repeat": len(run_times)},
        "run_internal_seconds": (min(internal) if internal else None),
        "startup_seconds": startup,
        "rate_hz": {
            "second_half_mean": (sum(half) / len(half)) if half else None,
            "whole_run_mean": (sum(rs) / len(rs)) if rs else None,
            "final": rs[-1] if rs else None,
            "exact_reference": EXACT_RATE_HZ,
            "miind_test_accepts": list(MIIND_TEST_ACCEPTS),
        },
        "omp_threads": threads if threads and threads > 0 else "default",
        "n_cells": n_cells,
        "dt": mesh_dt,
        "network_dt": NETWORK_DT,
        "n_rate_samples": len(rs),
        "workdir": workdir,
    }
    if with_series:
        res["rate_series"] = {"t": ts, "rate_hz": rs}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", required=True, help="virtual environment for MIIND")
    ap.add_argument("--workdir", required=True, help="scratch directory for MIIND's files")
    ap.add_argument("--t-end", type=float, default=1.0, help="simulated seconds (default 1.0)")
    ap.add_argument("--repeat", type=int, default=1, help="run the simulation N times")
    ap.add_argument("--threads", type=int, default=1,
                    help="OMP_NUM_THREADS for MIIND (default 1; 0 = MIIND's default, all cores)")
    ap.add_argument("--no-series", action="store_true", help="omit the rate time series")
    a = ap.parse_args(argv)

    def work():
        t0 = time.perf_counter()
        ensure_venv(a.venv)
        log("venv ready (%.1f s)" % (time.perf_counter() - t0))
        return run_public_case(a.venv, a.workdir, a.t_end, a.repeat, not a.no_series, a.threads)

    res = run_side("miind_side", "MIIND", MiindSideError, work)
    if res is None:
        return 1
    series = res.pop("rate_series", None)
    text = json.dumps(res, indent=1)
    if series is not None:  # keep the long series on two compact lines
        text = text[:-2] + ',\n "rate_series": {\n  "t": %s,\n  "rate_hz": %s\n }\n}' % (
            json.dumps(series["t"]), json.dumps(series["rate_hz"]))
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
