"""The model library against the papers, and the checks of model input.

Each built-in kind is integrated twice over 1 s: once through its compiled equation
strings (in seconds, the model's units), once through a right-hand side written here
by hand from the paper, in the paper's own time unit (ms; one time unit = 1 ms for the
dimensionless models). The two must agree; so the factors 1000, the unit conventions
and every constant of the equation strings are checked against an independent text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from meshgen.errors import ConfigError
from meshgen.model_file import MODEL_LAYOUT
from meshgen.models import MODEL_KINDS, build_model
from meshgen.tomlconfig import check_document

MS = 1e-3  # seconds per millisecond: the papers' time unit
DURATION = 1.0  # s of simulated time per comparison
SAMPLES = 2001  # comparison times, evenly spaced over DURATION
RTOL, ATOL = 1e-10, 1e-12  # both integrations (LSODA)

# Both sides solve the same ODE at rtol 1e-10 and differ only by round-off and by the
# integrator's own error, in time units 1000 apart; spikes and resets amplify these.
# Measured: below 3e-9 of each variable's range and spike times within 3e-11 s (up to
# 7e-8 and 2e-10 s with other first steps). A wrong constant, sign or unit factor
# shifts trajectories by 1e-3 of their range or far more, so these bounds separate the two.
TRAJECTORY_TOL = 1e-6  # of the variable's range over the run
SPIKE_TIME_TOL = 1e-8  # s
# Hindmarsh-Rose at I = 3.25 bursts chaotically: the two runs separate by about
# e^(t / 87 ms), so LSODA's 1e-10 errors grow to 3e-2 of the range by 1 s. It is solved
# with DOP853 at rtol 1e-12 instead; measured: 7e-6 of the range and spike times within
# 9e-9 s at 1 s, 4e-10 of the range over the first half. The bounds leave room for the
# exponential growth; a wrong model still misses by O(1).
CHAOTIC_RTOL, CHAOTIC_ATOL = 1e-12, 1e-14
CHAOTIC_TRAJECTORY_TOL = 1e-4
CHAOTIC_SPIKE_TIME_TOL = 1e-7  # s
# Points this close to a spike are not compared: a spike-time difference within the
# tolerance moves a steep upstroke or a reset across them.
SPIKE_MARGIN = 1e-5  # s


# --- the papers, in their own units (time in ms) --------------------------------------

PAPER = {
    # Brette & Gerstner 2005, Fig. 2: pF, nS, mV, ms, pA (b = 0.0805 nA).
    "adex": dict(C=281.0, g_L=30.0, E_L=-70.6, V_T=-50.4, Delta_T=2.0, tau_w=144.0, a=4.0,
                 b=80.5, V_r=-70.6),
    # Izhikevich 2003, regular spiking: mV, ms.
    "izhikevich": dict(a=0.02, b=0.2, c=-65.0, d=8.0),
    # MIIND's Conductance2D example (de Kamps et al. 2019): mV, ms.
    "conductance_lif": dict(tau=20.0, E_l=-65.0, E_e=0.0, tau_g=5.0),
    # FitzHugh 1961 a, b; epsilon = 0.08 (Izhikevich & FitzHugh 2006); dimensionless time.
    "fitzhugh_nagumo": dict(a=0.7, b=0.8, tau_v=1.0, tau_w=1 / 0.08),
    # Rinzel & Ermentrout 1998, type I (SNLC): uF/cm^2, mS/cm^2, mV, 1/ms.
    "morris_lecar": dict(C=20.0, g_L=2.0, g_Ca=4.0, g_K=8.0, V_L=-60.0, V_Ca=120.0, V_K=-84.0,
                         V_1=-1.2, V_2=18.0, V_3=12.0, V_4=17.4, phi=0.067),
    # Butera, Rinzel & Smith 1999, model 1: pF, nS, mV, ms.
    "nap_half_centre": dict(C=21.0, g_NaP=2.8, g_L=2.8, E_Na=50.0, E_L=-65.0, theta_m=-40.0,
                            sigma_m=-6.0, theta_h=-48.0, sigma_h=6.0, tau_h_max=10000.0),
    # Hindmarsh & Rose 1984 (r, I: the bursting setting); dimensionless time.
    "hindmarsh_rose": dict(a=1.0, b=3.0, c=1.0, d=5.0, r=0.006, s=4.0, x_R=-1.6, I=3.25,
                           tau=1.0),
    # conductance_lif plus Vogels & Abbott 2005 for the inhibitory conductance: mV, ms.
    "conductance_lif_3d": dict(tau=20.0, E_l=-65.0, E_e=0.0, E_i=-80.0, tau_e=5.0, tau_i=10.0),
}
# Paper value -> model default: time constants from ms to s; everything else as is.
TO_SECONDS = {"tau_w", "tau", "tau_g", "tau_v", "tau_h_max", "tau_e", "tau_i"}
# Defaults the sources do not give (documented as chosen in each kind's reference).
CHOSEN_HERE = {"adex": {"I"}, "izhikevich": {"I"}, "fitzhugh_nagumo": {"I"},
               "morris_lecar": {"I"}, "nap_half_centre": {"I"}}


def sigmoid_tanh(v, half, slope):
    return 0.5 * (1 + np.tanh((v - half) / slope))


def adex_rhs(t, y, p, I):
    v, w = y
    dv = (-p["g_L"] * (v - p["E_L"]) + p["g_L"] * p["Delta_T"] * np.exp((v - p["V_T"])
                                                                      / p["Delta_T"]) - w + I)
    return [dv / p["C"], (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]]  # pA/pF = mV/ms


def izhikevich_rhs(t, y, p, I):
    v, u = y
    return [0.04 * v * v + 5 * v + 140 - u + I, p["a"] * (p["b"] * v - u)]


def conductance_lif_rhs(t, y, p, I):
    v, g = y
    return [((p["E_l"] - v) + g * (p["E_e"] - v)) / p["tau"], -g / p["tau_g"]]


def fitzhugh_nagumo_rhs(t, y, p, I):
    v, w = y
    return [v - v ** 3 / 3 - w + I, 0.08 * (v + p["a"] - p["b"] * w)]


def morris_lecar_rhs(t, y, p, I):
    v, w = y
    m_inf = sigmoid_tanh(v, p["V_1"], p["V_2"])
    w_inf = sigmoid_tanh(v, p["V_3"], p["V_4"])
    tau_w = 1 / np.cosh((v - p["V_3"]) / (2 * p["V_4"]))
    current = (I - p["g_L"] * (v - p["V_L"]) - p["g_Ca"] * m_inf * (v - p["V_Ca"])
               - p["g_K"] * w * (v - p["V_K"]))
    return [current / p["C"], p["phi"] * (w_inf - w) / tau_w]  # uA/uF = mV/ms


def nap_rhs(t, y, p, I):
    v, h = y
    m_inf = 1 / (1 + np.exp((v - p["theta_m"]) / p["sigma_m"]))
    h_inf = 1 / (1 + np.exp((v - p["theta_h"]) / p["sigma_h"]))
    tau_h = p["tau_h_max"] / np.cosh((v - p["theta_h"]) / (2 * p["sigma_h"]))
    current = -p["g_NaP"] * m_inf * h * (v - p["E_Na"]) - p["g_L"] * (v - p["E_L"]) + I
    return [current / p["C"], (h_inf - h) / tau_h]  # pA/pF = mV/ms


def hindmarsh_rose_rhs(t, y, p, I):
    x, yy, z = y
    return [yy - p["a"] * x ** 3 + p["b"] * x ** 2 - z + I, p["c"] - p["d"] * x ** 2 - yy,
            p["r"] * (p["s"] * (x - p["x_R"]) - z)]


def conductance_lif_3d_rhs(t, y, p, I):
    v, g_e, g_i = y
    return [((p["E_l"] - v) + g_e * (p["E_e"] - v) + g_i * (p["E_i"] - v)) / p["tau"],
            -g_e / p["tau_e"], -g_i / p["tau_i"]]


@dataclass(frozen=True)
class Case:
    kind: str
    rhs: Callable
    drive: float | None  # I, set in the model and passed to the reference
    start: tuple[float, ...]
    threshold: float | None  # spike rule of the paper (or of the kind, if not published)
    reset: Callable | None  # state at the crossing -> state after, from the paper
    min_spikes: int  # the run must exercise the spike rule this often

    @property
    def paper(self):
        return PAPER[self.kind]


CASES = [
    Case("adex", adex_rhs, 1000.0, (-70.6, 0.0), -40.4,
         lambda y: (PAPER["adex"]["V_r"], y[1] + PAPER["adex"]["b"]), 5),
    Case("izhikevich", izhikevich_rhs, 10.0, (-65.0, -13.0), 30.0,
         lambda y: (PAPER["izhikevich"]["c"], y[1] + PAPER["izhikevich"]["d"]), 5),
    # No drive: a large initial conductance (3 leak conductances) makes it fire.
    Case("conductance_lif", conductance_lif_rhs, None, (-65.0, 3.0), -55.0,
         lambda y: (-65.0, y[1]), 1),
    Case("fitzhugh_nagumo", fitzhugh_nagumo_rhs, 0.5, (-1.0, -0.5), None, None, 0),
    Case("morris_lecar", morris_lecar_rhs, 45.0, (-60.0, 0.0), 0.0, None, 5),
    Case("nap_half_centre", nap_rhs, 20.0, (-50.0, 0.6), -40.0, None, 1),
    Case("hindmarsh_rose", hindmarsh_rose_rhs, None, (-1.6, -11.8, 2.0), 1.0, None, 10),
    Case("conductance_lif_3d", conductance_lif_3d_rhs, None, (-65.0, 3.0, 0.5), -55.0,
         lambda y: (-65.0, y[1], y[2]), 1),
]
CHAOTIC = {"hindmarsh_rose"}


def integrate(rhs, start, t_end, times, threshold, reset, chaotic=False):
    """Integrate to t_end; an upward crossing of `threshold` by the first variable is a
    spike, after which `reset` (if any) maps the state. Returns spike times and the
    state at `times`."""
    def crossing(t, y):
        return y[0] - threshold
    crossing.direction = 1
    crossing.terminal = reset is not None
    events = None if threshold is None else crossing

    spikes, samples = [], []
    t0, y = 0.0, np.asarray(start, dtype=float)
    while True:
        wanted = times[(times >= t0) & (times <= t_end)]
        # The same first step relative to the span in both time units.
        solution = solve_ivp(rhs, (t0, t_end), y, t_eval=wanted, events=events,
                             first_step=1e-6 * t_end,
                             **(dict(method="DOP853", rtol=CHAOTIC_RTOL, atol=CHAOTIC_ATOL)
                                if chaotic else dict(method="LSODA", rtol=RTOL, atol=ATOL)))
        assert solution.success, solution.message
        samples.append(solution.y)
        if events is not None:
            spikes.extend(solution.t_events[0])
        if solution.status != 1:  # reached t_end
            break
        t0 = solution.t_events[0][0]
        y = np.asarray(reset(solution.y_events[0][0]), dtype=float)
    return np.asarray(spikes), np.concatenate(samples, axis=1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.kind)
def test_kind_follows_the_paper(case):
    overrides = {} if case.drive is None else {"I": case.drive}
    model = build_model({"kind": case.kind, "parameters": overrides, "spike": {}})
    assert model.threshold == case.threshold
    assert model.resets == (case.reset is not None)
    drive = case.paper.get("I", 0.0) if case.drive is None else case.drive
    times = np.linspace(0.0, DURATION, SAMPLES)

    def model_rhs(t, y):
        return np.array(model.drift(*y), dtype=float)

    def model_reset(y):
        return np.array(model.reset_state(*y), dtype=float)

    def paper_rhs(t, y):
        return case.rhs(t, y, case.paper, drive)

    chaotic = case.kind in CHAOTIC
    got_spikes, got = integrate(model_rhs, case.start, DURATION, times, model.threshold,
                                model_reset if model.resets else None, chaotic)
    want_spikes, want = integrate(paper_rhs, case.start, DURATION / MS, times / MS,
                                  case.threshold, case.reset, chaotic)
    want_spikes = want_spikes * MS

    assert len(want_spikes) >= case.min_spikes, "the run does not exercise the spike rule"
    assert len(got_spikes) == len(want_spikes)
    np.testing.assert_allclose(got_spikes, want_spikes, rtol=0,
                               atol=CHAOTIC_SPIKE_TIME_TOL if chaotic else SPIKE_TIME_TOL)
    assert got.shape == want.shape == (model.dimension, SAMPLES)
    far = np.all(np.abs(times[:, None] - want_spikes[None, :]) > SPIKE_MARGIN, axis=1)
    tolerance = CHAOTIC_TRAJECTORY_TOL if chaotic else TRAJECTORY_TOL
    for index, variable in enumerate(model.variables):
        scale = np.ptp(want[index])
        np.testing.assert_allclose(got[index, far], want[index, far], rtol=0,
                                   atol=tolerance * scale,
                                   err_msg=f"{case.kind}: variable {variable}")


def test_every_new_kind_has_a_reference_case():
    assert {c.kind for c in CASES} == set(MODEL_KINDS) - {"lif", "qif", "eif"}


@pytest.mark.parametrize("kind", sorted(PAPER))
def test_defaults_are_the_published_values(kind):
    declared = MODEL_KINDS[kind].parameters
    chosen = CHOSEN_HERE.get(kind, set())
    assert set(PAPER[kind]) | chosen == set(declared), "every default has a stated source"
    for name, value in PAPER[kind].items():
        expected = value * MS if name in TO_SECONDS else value
        assert declared[name].default == pytest.approx(expected, rel=1e-12), f"{kind}.{name}"


def test_published_spike_rules():
    izhikevich = MODEL_KINDS["izhikevich"].spike
    assert izhikevich["threshold"] == 30.0
    assert izhikevich["reset"] == {"v": "c", "u": "u + d"}
    assert MODEL_KINDS["adex"].spike["reset"] == {"v": "V_r", "w": "w + b"}
    assert "reset" not in MODEL_KINDS["morris_lecar"].spike
    assert MODEL_KINDS["fitzhugh_nagumo"].spike == {}


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_every_kind_is_documented(kind):
    spec = MODEL_KINDS[kind]
    assert spec.reference.strip() and spec.doc.strip()
    assert set(spec.units) == set(spec.variables) and all(spec.units.values())
    for name, parameter in spec.parameters.items():
        assert parameter.unit.strip(), f"{kind}.{name} has no unit"
        assert parameter.doc.strip(), f"{kind}.{name} has no doc"
        if name.startswith("tau"):
            assert parameter.unit == "s" and parameter.positive, f"{kind}.{name}"
    model = build_model({"kind": kind, "parameters": {}, "spike": {}})
    json.dumps(model.definition())  # plain data


def test_conductance_lif_3d_without_inhibition_is_conductance_lif():
    two = build_model({"kind": "conductance_lif", "parameters": {}, "spike": {}})
    three = build_model({"kind": "conductance_lif_3d", "parameters": {}, "spike": {}})
    v = np.linspace(-80.0, -55.0, 7)
    g = np.linspace(0.0, 3.0, 7)
    np.testing.assert_allclose(three.drift(v, g, 0 * g)[:2], two.drift(v, g), rtol=1e-15)


# --- spike rules ------------------------------------------------------------------------

def custom(variables, equations, parameters=None, **spike):
    return {"kind": "custom", "variables": variables, "equations": equations,
            "parameters": parameters or {}, "spike": spike}


ADEX_AS_CUSTOM = dict(
    variables=["v", "w"],
    equations=["dv/dt = (E_l - v)/tau - w", "dw/dt = -w/tau_w"],
    parameters={"E_l": -70.6, "tau": 0.01, "tau_w": 0.1, "b": 80.5})


def test_custom_reset_per_variable():
    model = build_model(custom(**ADEX_AS_CUSTOM, threshold=-50.0,
                               reset={"v": -70.6, "w": "w + b"}))
    assert model.reset == {"v": -70.6, "w": "w + b"}
    v, w = model.reset_state(np.array([-50.0, -50.0]), np.array([0.0, 10.0]))
    np.testing.assert_array_equal(v, [-70.6, -70.6])
    np.testing.assert_array_equal(w, [80.5, 90.5])
    assert model.definition()["spike"]["reset"] == {"v": -70.6, "w": "w + b"}


def test_resets_read_the_state_at_the_crossing():
    """All entries are evaluated from the state before the reset: w sees v = threshold."""
    model = build_model(custom(**ADEX_AS_CUSTOM, threshold=-50.0,
                               reset={"w": "w + 0.1*v", "v": "E_l"}))
    v, w = model.reset_state(-50.0, 1.0)
    assert (v, w) == (-70.6, pytest.approx(1.0 - 5.0))


def test_reset_table_of_a_kind_is_merged():
    """Overriding the reset value of v keeps the kind's rule for w."""
    model = build_model({"kind": "adex", "parameters": {},
                         "spike": {"threshold": None, "reset": -60.0, "refractory": None}})
    assert model.reset == {"v": -60.0, "w": "w + b"}


def test_model_without_spikes():
    model = build_model(custom(**ADEX_AS_CUSTOM))
    assert model.threshold is None and model.reset == {} and not model.spikes
    assert model.reset_functions == (None, None)
    v, w = model.reset_state(np.array([1.0]), np.array([2.0]))
    assert (v[0], w[0]) == (1.0, 2.0)
    fhn = build_model({"kind": "fitzhugh_nagumo", "parameters": {}, "spike": {}})
    assert fhn.threshold is None and fhn.reset == {}
    assert fhn.definition()["spike"] == {"threshold": None, "reset": {}, "refractory": 0.0}


def test_threshold_without_reset_counts_spikes():
    model = build_model(custom(**ADEX_AS_CUSTOM, threshold=-50.0))
    assert model.spikes and not model.resets
    ml = build_model({"kind": "morris_lecar", "parameters": {}, "spike": {"threshold": 10.0}})
    assert ml.threshold == 10.0 and ml.reset == {}


def test_a_model_file_with_reset_table_passes_the_layout():
    """MODEL_LAYOUT (model_file.py) accepts per-variable resets and a missing [model.spike]."""
    mesh = {"v_range": [-70.0, -50.0], "efficacies": [1.0]}
    with_reset = {"model": {**custom(**ADEX_AS_CUSTOM, threshold=-50.0,
                                     reset={"v": -70.6, "w": "w + b"})}, "mesh": mesh}
    without = {"model": {k: v for k, v in custom(**ADEX_AS_CUSTOM).items() if k != "spike"},
               "mesh": mesh}
    model = build_model(check_document(with_reset, MODEL_LAYOUT, "m.toml")["model"])
    assert model.reset == {"v": -70.6, "w": "w + b"}
    model = build_model(check_document(without, MODEL_LAYOUT, "m.toml")["model"])
    assert model.threshold is None


# --- bad input: a ConfigError naming the key ------------------------------------------------

@pytest.mark.parametrize("section, key, says", [
    ({"kind": "adex", "parameters": {"tau_v": 0.1}, "spike": {}},
     "model.parameters.tau_v", "did you mean 'tau_w'"),
    ({"kind": "adex", "parameters": {"C": 0.0}, "spike": {}},
     "model.parameters.C", "must be positive"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"v": -70.0, "q": "q + 1"}),
     "model.spike.reset.q", "unknown variable 'q'"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"q": 1.0}),
     "model.spike.reset.q", "unknown variable 'q'"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"v": "v - 5"}),
     "model.spike.reset.v", "not of the state"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"v": "E_x"}),
     "model.spike.reset.v", "unknown name 'E_x'"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"v": -70.0, "w": "w + c"}),
     "model.spike.reset.w", "unknown name 'c'"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, reset={"w": "w + b"}),
     "model.spike.reset", "spiking variable 'v'"),
    (custom(**ADEX_AS_CUSTOM, threshold=-80.0, reset={"v": -70.0}),
     "model.spike.reset", "below the threshold"),
    (custom(**ADEX_AS_CUSTOM, reset={"v": -70.6, "w": "w + b"}),
     "model.spike.threshold", "a reset needs a threshold"),
    (custom(**ADEX_AS_CUSTOM, threshold=-50.0, refractory=0.002),
     "model.spike.refractory", "needs a reset"),
    (custom(["v", "w"], ["dv/dt = -v"]), "model.equations", "2 variables need 2 equations"),
    (custom(["v", "w"], ["dv/dt = -v", "dv/dt = -w"]), "model.equations.1",
     "does not match"),
    (custom(["v", "v"], ["dv/dt = -v", "dv/dt = -v"]), "model.variables", "distinct"),
    (custom(["v"], ["dv/dt = -v"], threshold=1.0), "model.spike.reset", "missing"),
    (custom(["v"], ["dv/dt = -v"]), "model.spike.threshold", "missing"),
    ({"kind": "fitzhugh_nagumo", "parameters": {}, "spike": {"reset": -1.0}},
     "model.spike.threshold", "a reset needs a threshold"),
], ids=["unknown-parameter", "non-positive-capacitance", "reset-unknown-variable",
        "reset-only-unknown-variable", "reset-of-v-uses-v", "reset-unknown-name",
        "reset-of-w-unknown-name",
        "reset-without-v", "reset-above-threshold", "reset-without-threshold",
        "refractory-without-reset", "missing-equation", "equation-for-wrong-variable",
        "repeated-variable", "1d-without-reset", "1d-without-threshold",
        "kind-reset-without-threshold"])
def test_bad_model_names_the_key(section, key, says):
    with pytest.raises(ConfigError) as caught:
        build_model(section, path="m.toml")
    assert caught.value.key == key
    assert caught.value.path == "m.toml"
    assert says in caught.value.message


def test_registration_checks_the_kind():
    from meshgen.models import ModelKind, Parameter, register
    kind = MODEL_KINDS["adex"]
    with pytest.raises(ValueError, match="registered twice"):
        register(kind)
    incomplete = ModelKind(name="_test_kind", variables=("v", "w"), equations=kind.equations,
                           parameters={"C": Parameter(1.0, "", "capacitance")},
                           units=kind.units, spike={}, reference="x", doc="x")
    with pytest.raises(ValueError, match="unit and a doc"):
        register(incomplete)
    assert "_test_kind" not in MODEL_KINDS


DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_docs_list_every_kind_as_defined(kind):
    """docs/models.md shows each kind's equations and parameter defaults as the code has them."""
    text = DOCS.read_text(encoding="utf-8")
    spec = MODEL_KINDS[kind]
    assert f"### `{kind}`" in text
    section = text.split(f"### `{kind}`", 1)[1].split("\n### ", 1)[0]
    for equation in spec.equations:
        assert equation in section, f"{kind}: {equation!r} is not in docs/models.md"
    for name, parameter in spec.parameters.items():
        row = f"| `{name}` | {parameter.default:g} | {parameter.unit} |"
        assert row in section, f"{kind}: no row {row!r} in docs/models.md"
