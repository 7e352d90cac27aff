"""Run one point of the study and measure how synchronous it is.

The measures are those of `miind analyze --summary --sttc DT --phase-locking`
(README "Synchrony measures"), over the second half of the run, plus the harmonics
of the phase locking that tell clusters apart (miind_cli.spike_synchrony).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from meshgen.errors import SimulationError
from meshgen.formats.run_output_reader import PopulationOutput, RunOutput, read_output
from miind_cli import spike_synchrony, statistics
from solver.engine import run_simulation

from .cases import POPULATION

# Two spikes within +-2 ms count as together: the 1 ms delay plus the spread of a
# volley. elephant's default 5 ms tiles 10 of fast spiking's 12.9 ms period, leaving
# the STTC little room to tell locked from independent trains.
STTC_DT = 2e-3  # s
# Harmonics looked at for clusters: beyond 4 groups, fast spiking's 12.9 ms period
# leaves less than 3.2 ms between them, a few times the volleys' spread.
MAX_CLUSTERS = 4
# R_m at least this: the neurons fire in m groups. For n neurons of independent
# phases R_m averages sqrt(pi / 4n) and exceeds 0.8 with probability about
# exp(-0.64 n): 0.6% for n = 8 but 15% for n = 3, where two neurons together and one
# apart pass for 2 groups. So groups are looked for only from MIN_GROUPED_NEURONS
# neurons on, and at most n/2 of them (two neurons a group); the locked states of the
# study give R_m of 0.9 and more.
CLUSTER_LOCKING = 0.8
MIN_GROUPED_NEURONS = 8
# volley_groups: volleys of at least this many spikes on average. By chance, N
# independent neurons firing at r each make runs of spikes closer than the
# coincidence c of mean length exp(N r c): at most 1.65 for N = 100 below the 1 kHz
# that a 1 ms delay allows, with the c = 5 us of benchmarks/validate_synchrony.py.
MIN_VOLLEY_SIZE = 4


@dataclass(frozen=True)
class Point:
    """One run's measures: NaN where the run has none (`status` "runaway": the
    coupling set the network off, see cases.CASES)."""

    strength: float
    rate: float  # Hz per neuron, second half
    chi: float
    sttc: float
    locking: tuple[float, ...]  # R_1 ... R_MAX_CLUSTERS
    clusters: int  # how many groups the neurons fire in (groups()); 0: none
    seconds: float  # wall time of the run
    status: str = "ok"

    def as_dict(self) -> dict:
        """For JSON: NaN as None (null)."""
        def plain(value):
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return None if isinstance(value, float) and math.isnan(value) else value
        return {k: plain(v) for k, v in asdict(self).items()}


def run_point(sim_path: Path, output: Path, strength: float, burst_isi: float | None) -> Point:
    """Run the simulation file and measure its population."""
    start = time.perf_counter()
    try:
        run_simulation(sim_path, output)
    except SimulationError:
        nan = math.nan
        return Point(strength, nan, nan, nan, (nan,) * MAX_CLUSTERS, 0,
                     time.perf_counter() - start, "runaway")
    seconds = time.perf_counter() - start
    return measure(read_output(output), strength, burst_isi, seconds)


def measure(output, strength: float, burst_isi: float | None, seconds: float = math.nan) -> Point:
    window = second_half(output)
    summary = statistics.summarize(output, window, spike_measures=statistics.SpikeMeasures(
        sttc_dt=STTC_DT))["populations"][POPULATION]
    locking = tuple(harmonics(output, window, burst_isi))
    clusters = groups(locking, output.populations[POPULATION].n_neurons)
    return Point(strength, summary["mean_rate"], _number(summary["synchrony"]["chi"]),
                 _number(summary["synchrony"]["sttc"]), locking, clusters, seconds)


def groups(locking: tuple[float, ...], n_neurons: int) -> int:
    """The number of groups the neurons fire in, from R_1, R_2, ...: 1 for one
    volley, m for m groups in turn, 0 for none (asynchronous, or too few neurons)."""
    if locking and locking[0] >= CLUSTER_LOCKING:
        return 1
    if n_neurons < MIN_GROUPED_NEURONS:
        return 0
    return next((m for m, r in enumerate(locking, 1)
                 if r >= CLUSTER_LOCKING and 2 * m <= n_neurons), 0)


def second_half(output) -> tuple[float, float]:
    """The window of every measure, as chi's: the transient from the random states is
    left out."""
    t_end = float(output.time[-1])
    return (t_end / 2, t_end)


def harmonics(output, window: tuple[float, float], burst_isi: float | None) -> list[float]:
    """R_1 ... R_MAX_CLUSTERS of the population's spikes (burst onsets with
    `burst_isi`) over `window`, the phases set by all the run's events."""
    pop = output.populations[POPULATION]
    trains = spike_synchrony.trains_from_events(pop.spike_times, pop.spike_ids, pop.n_neurons,
                                                0.0, float(output.time[-1]))
    events = spike_synchrony.event_onsets(trains, burst_isi)
    return [spike_synchrony.phase_locking(events, window, harmonic=m).mean
            for m in range(1, MAX_CLUSTERS + 1)]


def _number(value) -> float:
    return math.nan if value is None else float(value)


def output_from_samples(spike_times: np.ndarray, spike_ids: np.ndarray, v: np.ndarray,
                        dt: float, source: str = "") -> RunOutput:
    """Another simulator's run of the study's population as `read_output` gives ours,
    so that `measure` reads both the same way: its spikes (s, any order) and each
    neuron's v (mV) at the end of every step of `dt` after that step's reset, (n_steps,
    N), as `miind run` records it. The rate, the mean v, and each neuron's mean and
    variance of v over the second half of the steps (chi's window, `miind run`'s
    `accumulate_from`) are computed here as `miind run` computes them."""
    v = np.asarray(v, dtype=np.float64)
    n_steps, n_neurons = v.shape
    order = np.argsort(spike_times, kind="stable")
    times = np.asarray(spike_times, dtype=np.float64)[order]
    # A spike at t belongs to the step [k dt, (k + 1) dt) holding it.
    steps = np.minimum((times / dt).astype(np.int64), n_steps - 1)
    counts = np.bincount(steps, minlength=n_steps)
    accumulate_from = n_steps // 2
    window = v[accumulate_from:]
    population = PopulationOutput(
        name=POPULATION, unit="mV", variables=["v"], method="direct",
        rate=counts / (n_neurons * dt), mean={"v": v.mean(axis=1)}, n_neurons=n_neurons,
        spike_times=times, spike_ids=np.asarray(spike_ids, dtype=np.int64)[order],
        neuron_mean_v=window.mean(axis=0), neuron_var_v=window.var(axis=0),
        synchrony_t_start=accumulate_from * dt)
    return RunOutput(path=source, time=dt * np.arange(1, n_steps + 1), dt=dt,
                     populations={POPULATION: population}, input_rates={})


def volley_groups(spike_times: np.ndarray, n_neurons: int, window: tuple[float, float],
                  coincidence: float) -> int:
    """The number of groups the neurons fire in, counted by their volleys: N over the
    mean number of spikes per volley in `window`, a volley being spikes less than
    `coincidence` (s) after the one before; 0 when the volleys average fewer than
    MIN_VOLLEY_SIZE spikes (no volleys). For states beyond `groups()`' MAX_CLUSTERS
    harmonics: a LIF cascade near the runaway (a volley pushes the next group over the
    threshold 1 ms later) fires in 5 to 9 groups at N = 100, whose R_1 ... R_4 stay at
    chance. A jump over the threshold fires its neurons at the jump's instant (ours) or
    at one step's test (Brian2), so a cascade's volleys coincide to within a step,
    where a volley that drift fires (AdEx, or a LIF's weak pulses) spreads over more."""
    times = np.sort(np.asarray(spike_times, dtype=np.float64))
    times = times[(times >= window[0]) & (times <= window[1])]
    if times.size == 0:
        return 0
    volleys = 1 + int(np.count_nonzero(np.diff(times) >= coincidence))
    mean_size = times.size / volleys
    return round(n_neurons / mean_size) if mean_size >= MIN_VOLLEY_SIZE else 0
