"""The direct kernel's Poisson input (solver.codegen): neuron i's events of an input
come where the input's integrated rate reaches the partial sums of the exponentials of
i's own stream (solver.rng), in the order the stream gives them, with the next interval
drawn one event ahead (off the chain of dependent operations)."""

from __future__ import annotations

from pathlib import Path

from solver.assembly import build_simulation
from solver.engine import simulate
from solver.rng import neuron_states, next_exponential, population_key
from solver.sim_file import read_simulation_file

SIMULATION = """
[simulation]
t_end = 0.02
dt = 1e-4
[[population]]
name = "one"
method = "direct"
model = "{model}"
n_neurons = 4
seed = 7
[[input]]
name = "drive"
rate = 5000.0
[[connection]]
source = "drive"
target = "one"
efficacy = 0.1
"""


def test_events_take_the_streams_draws_in_order(tmp_path):
    model = Path(__file__).resolve().parents[2] / "examples" / "brunel" / "lif.toml"
    path = tmp_path / "sim.toml"
    path.write_text(SIMULATION.format(model=model))
    simulation = build_simulation(read_simulation_file(path))
    simulate(simulation)
    population = simulation.populations[0]
    # the integrated rate at the end: 5,000 Hz x 0.02 s, as the kernel sums it per step
    reached = population.intensity[0]
    assert abs(reached - 100.0) < 1e-9
    streams = neuron_states(population_key(population.seed, population.stream),
                            population.n_neurons)
    for i in range(population.n_neurons):
        draws = [next_exponential(streams[i]) for _ in range(400)]
        # the first event at draws[0]; each later one draws[k] further, summed in order
        threshold, k = draws[0], 0
        while threshold < reached:
            k += 1
            threshold += draws[k]
        assert population.next_event[0, i] == threshold, i
        assert population.next_interval[0, i] == draws[k + 1], i


TWO_INPUTS = SIMULATION.replace("n_neurons = 4\nseed = 7", "n_neurons = 20\nseed = 11") + """
[[input]]
name = "other"
rate = 7000.0
[[connection]]
source = "other"
target = "one"
efficacy = -0.05
"""


def test_several_inputs_share_one_stream_without_reusing_a_draw(tmp_path):
    """Two inputs (5 and 7 kHz) on one neuron's stream: the first two draws are the
    inputs' first events, the next two their next intervals, and each later draw
    becomes the next interval of the input whose event used the one before, in the
    order of the events. Replayed from the stream, this gives the kernel's state to
    the last bit after 200 steps in chunks, so no draw is used twice or skipped, and
    each input's intervals are independent exponentials."""
    model = Path(__file__).resolve().parents[2] / "examples" / "brunel" / "lif.toml"
    path = tmp_path / "sim.toml"
    path.write_text(TWO_INPUTS.format(model=model))
    simulation = build_simulation(read_simulation_file(path))
    simulate(simulation)
    population = simulation.populations[0]
    reached = population.intensity[:2]
    assert abs(reached[0] - 100.0) < 1e-9 and abs(reached[1] - 140.0) < 1e-9
    streams = neuron_states(population_key(population.seed, population.stream),
                            population.n_neurons)
    for i in range(population.n_neurons):
        draws = iter([next_exponential(streams[i]) for _ in range(1000)])
        upcoming = [next(draws), next(draws)]
        following = [next(draws), next(draws)]
        while True:
            # the earlier of the two next events, in time: integrated rate / rate; once
            # it lies past the end, so does the other
            g = 0 if upcoming[0] / 5000.0 < upcoming[1] / 7000.0 else 1
            if upcoming[g] >= reached[g]:
                break
            upcoming[g] += following[g]
            following[g] = next(draws)
        assert list(population.next_event[:2, i]) == upcoming, i
        assert list(population.next_interval[:2, i]) == following, i
