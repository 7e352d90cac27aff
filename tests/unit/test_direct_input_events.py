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
