"""The synchrony study's cases: which neurons, how they are coupled, and the network
file of one point of a sweep.

A case is a row of CASES: a firing pattern (an AdEx pattern of
examples/adex_patterns/ or a LIF oscillator: its model file, where its limit cycle
lies, how its bursts are told apart) and a coupling kind of
COUPLINGS with the strengths swept. A coupling kind turns a strength into the lines
that couple the population to itself (excitatory synapses, gap junctions), so a new
kind is one function and one entry in COUPLINGS, plus its rows in CASES; the sweep,
the measures and the figures do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from meshgen.model_file import read_model

EXAMPLES_DIR = Path(__file__).resolve().parents[1]
POPULATION = "net"
# Spikes reach their targets 1 ms later, as in the Brian2 study this replaces.
DELAY = 1e-3  # s
# The direct populations' default step (README "Direct simulation"); AdEx's RK4
# steps are this long, checked by `miind run` against half of it.
DT = 1e-4  # s
# Gap junctions pass each neuron a current computed from the states at the start of
# the step and held through it (README "Gap junctions"), so neurons crossing the
# threshold within one step do not feel each other's reset: at 1e-4 s the step itself
# synchronises strongly coupled neurons. 8 regular spiking neurons at G = 300 nS:
# chi 1.00 / R 1.00 at dt = 1e-4, 0.915 / 0.50 at 5e-5, 2.5e-5 and 1e-5 (at 100 and
# 1000 nS 2.5e-5 and 1e-5 agree to 0.01; fast spiking and bursting at 3-10 nS agree to
# 0.01 already between 1e-4 and 2.5e-5). `miind run` warns above lambda dt = 0.1
# (solver.gap_junctions): here only the 1,000 nS points of N <= 8 (0.10 at N = 8, 0.13
# at N = 3), which agree with 1e-5 s as said; LIF at 2-3 g_L depends on the step below
# it (examples/synchrony/README.md).
GAP_DT = 2.5e-5  # s


@dataclass(frozen=True)
class Pattern:
    """A neuron firing periodically under its constant drive: an AdEx firing pattern
    of examples/adex_patterns/, or a LIF oscillator. `model`: relative to examples/.

    `initial`: the random initial states, drawn so that uncoupled neurons reach their
    limit cycle at phases spread over it: v where the neuron spends its time (the slow
    climb towards V_T, not the fast fall from the reset), w over the range of the
    cycle. Measured, the phase locking R of 100 uncoupled neurons over 0.5-1 s (3
    seeds; 0.09 for uniform phases): regular 0.07-0.14, bursting 0.17-0.19, fast
    0.09-0.15, LIF 0.23-0.24 (uniform v is not uniform in phase for LIF, whose phase
    grows as ln(E_l - v), and none of the distributions makes it so). v uniform from
    the reset to -50 mV instead gives 0.25-0.39, and w = "normal(0, 10)" (README's
    example) bunches them before the adaptation builds up (8 regular neurons: R 0.80). v and w are drawn independently, so most states lie
    off the cycle; the first ~0.5 s are the transient onto it.
    `burst_isi`: bursts are runs of spikes closer than this (s), None for single
    spikes; phase locking counts burst onsets."""

    name: str
    model: str
    initial: dict[str, str]
    burst_isi: float | None
    label: str


PATTERNS = {
    # 27.7 Hz. One neuron on its cycle (from v = -70 mV, w = 0; 0.5-1 s, `make
    # patterns`): v 10-90% within -64.5 and -48.2 mV, w 348-428 pA; a wider w spreads
    # the phases better (348-428 pA: R 0.46, 250-550 pA: 0.07-0.14).
    "regular": Pattern("regular", "adex_patterns/regular_spiking.toml",
                       {"v": "uniform(-65, -45)", "w": "uniform(250, 550)"}, None,
                       "regular spiking (27.7 Hz)"),
    # Pairs of spikes 1.2 ms apart every 38.7 ms (25.8 Hz); v 2-98% within -59.3 and
    # -44.2 mV. Between bursts w decays from 1197 to 234 pA with tau_w, so the time is
    # spread uniformly over ln w: a lognormal with the mean of ln 234 and ln 1197 and
    # the sd of a uniform between them, ln(1197/234)/sqrt(12) = 0.47 (uniform w:
    # R 0.25-0.27). 10 ms lies between the two intervals (README "Synchrony measures").
    "bursting": Pattern("bursting", "adex_patterns/bursting.toml",
                        {"v": "uniform(-59, -45)", "w": "lognormal(6.27, 0.47)"}, 0.01,
                        "bursting (doublets, 25.8 Hz)"),
    # 77.6 Hz; no spike-triggered adaptation (b = 0): w stays within 55-58 pA.
    "fast": Pattern("fast", "adex_patterns/fast_spiking.toml",
                    {"v": "uniform(-65, -45)", "w": "uniform(55, 58)"}, None,
                    "fast spiking (77.6 Hz)"),
    # 31.1 Hz, from the reset (-70 mV) to the threshold (-50 mV): lif_oscillator.toml.
    "lif": Pattern("lif", "synchrony/lif_oscillator.toml", {"v": "uniform(-70, -50)"}, None,
                   "LIF oscillator (31.1 Hz)"),
}


def excitatory_synapses(strength: float, n_neurons: int, pattern: Pattern) -> str:
    """All-to-all excitatory synapses of total strength `strength` (mV): each spike
    lifts every other neuron's v by strength / (N - 1), so a volley of all the others
    lifts it by `strength` whatever N and the sweeps of different N line up."""
    return f"""[[connection]]
source = "{POPULATION}"
target = "{POPULATION}"
efficacy = {strength / (n_neurons - 1)!r}
delay = {DELAY!r}
connectivity = "all_to_all"
autapses = false
"""


def gap_junction_rate(pattern: Pattern) -> tuple[float, str]:
    """g (1/s, on dv/dt) of one unit of gap conductance, and the unit: 1 nS for AdEx,
    g = 1000 / C with C in pF (README "Gap junctions"; 3.56/s at the patterns' 281
    pF); for LIF, whose file has no capacitance, the unit is its leak conductance g_L,
    g = 1/tau."""
    model = read_model(EXAMPLES_DIR / pattern.model)
    if model.kind == "adex":
        return 1000.0 / model.parameters["C"], "nS"
    if model.kind == "lif":
        return 1.0 / model.parameters["tau"], "g_L"
    raise ValueError(f"no gap conductance unit for {model.kind} ({pattern.model})")


def gap_junctions(strength: float, n_neurons: int, pattern: Pattern) -> str:
    """All-to-all gap junctions of total conductance `strength` per neuron (nS for
    AdEx): each of a neuron's N - 1 junctions is strength / (N - 1), so a neuron whose
    v stands apart from all the others' by dv takes strength x dv whatever N, as J
    does for the synapses."""
    rate, _ = gap_junction_rate(pattern)
    return f"""[[gap_junction]]
population = "{POPULATION}"
conductance = {rate * strength / (n_neurons - 1)!r}
connectivity = "all_to_all"
"""


@dataclass(frozen=True)
class Coupling:
    name: str
    lines: Callable[[float, int, Pattern], str]  # (strength, N, pattern) -> coupling tables
    symbol: str
    quantity: str
    unit: Callable[[Pattern], str]

    def strength_label(self, pattern: Pattern) -> str:
        return f"{self.quantity} ({self.unit(pattern)})"


COUPLINGS = {
    "excitatory": Coupling("excitatory", excitatory_synapses, "J",
                           "total excitatory coupling J = (N - 1) x efficacy",
                           lambda pattern: "mV"),
    "gap": Coupling("gap", gap_junctions, "G",
                    "total gap conductance G = (N - 1) x junction",
                    lambda pattern: gap_junction_rate(pattern)[1]),
}


@dataclass(frozen=True)
class Case:
    pattern: Pattern
    coupling: Coupling
    strengths: tuple[float, ...]  # 0 is the uncoupled network
    dt: float = DT  # s

    @property
    def name(self) -> str:
        return f"{self.pattern.name}_{self.coupling.name}"


# Strengths up to where a volley sets the network off: without a refractory period
# (as in the patterns' models) a volley that lifts a neuron just reset over its
# threshold makes it fire again at each arrival, and every spike begets N - 1
# arrivals 1 ms later. Bursting neurons reset 5 mV below the cut-off: at J = 10 mV
# each burst already runs at the 1 kHz the delay allows (N = 8: 300 Hz), and beyond
# that the spikes multiply without bound (the run stops with "fired more than ...").
# Fast spiking at J = 30 mV fires at 1 kHz; LIF at 20 mV, threshold minus reset.
#
# Gap junctions, from uncoupled to a total conductance far above the leak's (AdEx:
# g_L = 30 nS; LIF: g_L), where v of all the neurons moves as one. GAP_DT accepts
# them all: the step check asks lambda dt <= 1 with lambda = g N = (1000 G / C) N /
# (N - 1), so G up to C / (1000 dt) (N - 1) / N = 7.5 uS at N = 3, 11 uS at 1000
# (LIF: 800 (N - 1) / N g_L); at 1 uS and N = 3, lambda dt = 0.13 and the coupling
# rate is 7% fast (README "Gap junctions": lambda dt / 2).
ADEX_GAP_STRENGTHS = (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0)  # nS
LIF_GAP_STRENGTHS = (0.0, 0.1, 0.3, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)  # g_L
CASES = [
    Case(PATTERNS["regular"], COUPLINGS["excitatory"],
         (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0)),
    Case(PATTERNS["bursting"], COUPLINGS["excitatory"],
         (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0)),
    Case(PATTERNS["fast"], COUPLINGS["excitatory"],
         (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0)),
    Case(PATTERNS["lif"], COUPLINGS["excitatory"],
         (0.0, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 17.0, 19.0)),
] + [Case(PATTERNS[name], COUPLINGS["gap"], strengths, GAP_DT) for name, strengths in (
    ("regular", ADEX_GAP_STRENGTHS), ("bursting", ADEX_GAP_STRENGTHS),
    ("fast", ADEX_GAP_STRENGTHS), ("lif", LIF_GAP_STRENGTHS))]


def case_named(pattern: str, coupling: str = "excitatory") -> Case:
    """The case of a pattern and a coupling kind (names of PATTERNS and COUPLINGS)."""
    return next(c for c in CASES if c.pattern.name == pattern and c.coupling.name == coupling)


@dataclass(frozen=True)
class Background:
    """Independent Poisson input to every neuron: an excitatory and an inhibitory
    train, each at `rate` with jumps of +-`efficacy` mV, so the mean drive stays the
    constant current's and only the fluctuations are added (sigma_v ~ efficacy x
    sqrt(rate tau_m) for the two trains: 0.77 mV for regular spiking's tau_m = C/g_L
    = 9.4 ms).
    0.25 mV at 1 kHz brings 100 uncoupled regular spiking neurons to chi 0.10 =
    1/sqrt(100) (0.11 without it) and lowers a coupling of 5 mV from chi 0.82 to 0.58
    (2 s runs, `make synchrony`); 1 mV leaves no synchrony at 5 mV (chi 0.09)."""

    rate: float = 1000.0  # Hz per train
    efficacy: float = 0.25  # mV


BACKGROUND = Background()


def background_lines(background: Background) -> str:
    return "".join(f"""[[input]]
name = "background_{sign_name}"
rate = {background.rate!r}
[[connection]]
source = "background_{sign_name}"
target = "{POPULATION}"
efficacy = {sign * background.efficacy!r}
""" for sign_name, sign in (("excitatory", 1.0), ("inhibitory", -1.0)))


def network_file(case: Case, n_neurons: int, strength: float, background: Background | None,
                 t_end: float, seed: int = 1) -> str:
    """The simulation file of one point: N neurons of the case's pattern from random
    states drawn with `seed` (the same states for every strength), coupled at
    `strength` (none at 0), with or without background input."""
    initial = ", ".join(f'{variable} = "{value}"'
                        for variable, value in case.pattern.initial.items())
    model = (EXAMPLES_DIR / case.pattern.model).as_posix()
    text = f"""# {case.pattern.label}, {n_neurons} neurons, {case.coupling.name} coupling \
{strength:g}, {"with" if background else "without"} background (examples/synchrony/cases.py)
[simulation]
t_end = {t_end!r}
dt = {case.dt!r}

[[population]]
name = "{POPULATION}"
method = "direct"
model = "{model}"
n_neurons = {n_neurons}
seed = {seed}
initial = {{ {initial} }}

"""
    if background is not None:
        text += background_lines(background) + "\n"
    if strength > 0.0:
        text += case.coupling.lines(strength, n_neurons, case.pattern)
    return text
