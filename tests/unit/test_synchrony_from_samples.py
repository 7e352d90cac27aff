"""measures.output_from_samples: another simulator's spikes and v samples read as a
`miind run` output, so that the synchrony study's measures read Brian2's runs
(benchmarks/validate_synchrony.py) exactly as they read ours.

The reference is ours: a run that records every neuron's v holds both what
output_from_samples takes (spikes, v samples) and what `miind run` computes from the
same values itself (rate, mean v, each neuron's variance of v over the second half),
so the measures of the two must agree up to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from examples.synchrony import cases, measures
from meshgen.formats.run_output_reader import read_output
from solver.engine import run_simulation

N_NEURONS = 8
# `miind run` sums v and v^2 per neuron over the 2,500 steps of the window and takes
# the variance as their difference (v^2 ~ 3e3 mV^2, variance ~ 30 mV^2): a relative
# rounding error ~ 1e-16 x 3e3 / 30 x sqrt(2500) ~ 5e-13, well under this.
ROUNDING = 1e-9


def recorded_run(tmp_path, pattern: str, strength: float):
    """A 0.5 s run of the study's network with every neuron's v recorded."""
    case = cases.case_named(pattern)
    text = cases.network_file(case, N_NEURONS, strength, cases.BACKGROUND, 0.5)
    every_neuron = f"n_neurons = {N_NEURONS}\nrecord = {list(range(N_NEURONS))}\n"
    sim = tmp_path / f"{pattern}.toml"
    sim.write_text(text.replace(f"n_neurons = {N_NEURONS}\n", every_neuron, 1))
    run_simulation(sim, sim.with_suffix(".h5"))
    return read_output(sim.with_suffix(".h5")), case.pattern.burst_isi


# LIF (exact between events) and bursting AdEx (RK4, bursts for the phase locking):
# coupled and with background, so that v, spikes and bursts all vary.
@pytest.mark.parametrize("pattern, strength", [("lif", 2.0), ("bursting", 1.0)])
def test_samples_of_our_run_give_our_measures(tmp_path, pattern, strength):
    ours, burst_isi = recorded_run(tmp_path, pattern, strength)
    pop = ours.populations[cases.POPULATION]
    rebuilt = measures.output_from_samples(pop.spike_times[::-1], pop.spike_ids[::-1],
                                           pop.samples["v"], ours.dt)
    expected = measures.measure(ours, strength, burst_isi)
    got = measures.measure(rebuilt, strength, burst_isi)
    assert expected.rate > 0.0
    assert got.rate == pytest.approx(expected.rate, rel=ROUNDING)
    assert got.chi == pytest.approx(expected.chi, rel=ROUNDING)
    # The same spikes (given in reverse order): the spike measures are the same numbers.
    assert got.sttc == expected.sttc
    assert got.locking == expected.locking
    assert got.clusters == expected.clusters
    np.testing.assert_allclose(rebuilt.populations[cases.POPULATION].mean["v"],
                               pop.mean["v"], rtol=ROUNDING)


# measures.volley_groups, on trains whose answer is known: m groups of N/m neurons
# firing in turn 1 ms apart (a cascade of the study's 1 ms delay), every neuron at
# once (one volley), and independent neurons (no volleys).
VOLLEY_N = 100
COINCIDENCE = 5e-6  # s, benchmarks/validate_synchrony.py's
WINDOW = (0.5, 1.0)


def cascade(n_groups: int) -> np.ndarray:
    """Spike times of VOLLEY_N neurons in n_groups groups, group g firing at g ms,
    then every n_groups ms, over 1 s."""
    group = np.arange(VOLLEY_N) % n_groups
    cycles = np.arange(0.0, 1.0, n_groups * 1e-3)
    return (cycles[None, :] + group[:, None] * 1e-3).ravel()


@pytest.mark.parametrize("n_groups", [1, 3, 5, 7, 10])
def test_volley_groups_counts_groups_firing_in_turn(n_groups):
    assert measures.volley_groups(cascade(n_groups), VOLLEY_N, WINDOW,
                                  COINCIDENCE) == n_groups


def test_independent_neurons_make_no_volleys():
    # 1 kHz each, the most a 1 ms delay allows a cascade: chance runs of coincident
    # spikes average exp(N r c) = 1.65 spikes, under MIN_VOLLEY_SIZE.
    rng = np.random.default_rng(3)
    times = rng.uniform(0.0, 1.0, VOLLEY_N * 1000)
    assert measures.volley_groups(times, VOLLEY_N, WINDOW, COINCIDENCE) == 0
    assert measures.volley_groups(np.zeros(0), VOLLEY_N, WINDOW, COINCIDENCE) == 0
