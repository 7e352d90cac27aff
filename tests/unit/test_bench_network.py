"""benchmarks/bench_network.py and run_phases.py: their own arithmetic (the points of
the studies, the cost per neuron-second, per event and per synapse, the phases from
progress notes, the memory check), without running a simulator."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_network as bn  # noqa: E402  (a script directory, not a package)
import run_phases  # noqa: E402

# Sums of a few binary fractions: exact but for the last bit or two.
EXACT = 1e-12


def test_counts_parse_and_errors_name_the_option():
    assert bn.parse_counts("1000, 10000,,", "--sizes") == [1000, 10000]
    assert bn.parse_counts("", "--sizes") == []
    with pytest.raises(ValueError, match="--sizes: '1e3' is not a whole number"):
        bn.parse_counts("1e3", "--sizes")
    with pytest.raises(ValueError, match="--in-degrees: 0 is not positive"):
        bn.parse_counts("100,0", "--in-degrees")


def test_in_degree_keeps_the_mean_input():
    for c_e in (100, 200, 500, 1000):
        point = bn.Point(10000, c_e, 1.0, 0.2)
        # J C_E = 100 mV at every in-degree: nu_thr = theta / (J C_E tau) stays 10 Hz
        assert point.j_mv * c_e == pytest.approx(100.0, rel=EXACT)
        assert point.c_i * 4 == c_e
        assert point.n_synapses == 10000 * (c_e + c_e // 4)
    assert bn.Point(12500, 1000, 1.0, 0.2).n_synapses == 15_625_000
    assert bn.Point(12500, 1000, 1.0, 0.2).n_e == 10000


def test_plan_shares_points_and_shortens_large_runs():
    studies = bn.plan([1000, 10000, 50000], [100, 1000], 10000, t_end=1.0, large_t_end=0.2,
                      warmup=0.2)
    assert studies["side_by_side"] == [bn.Point(12500, 1000, 1.0, 0.2)]
    # above 12,500 neurons: the short run, its warm-up at most half of it
    assert studies["sizes"][2] == bn.Point(50000, 1000, 0.2, 0.1)
    # N = 10,000 at C_E = 1,000 is in both studies: one run
    assert studies["sizes"][1] == studies["in_degrees"][1]
    points = dict.fromkeys(p for study in studies.values() for p in study)
    assert len(points) == 5
    with pytest.raises(ValueError, match="in-degree 250 is not a multiple of 4"):
        bn.plan([], [250], 10000, 1.0, 0.2, 0.2)


def test_costs_per_neuron_second_event_and_synapse():
    point = bn.Point(1000, 1000, 2.0, 0.2)
    run = {"simulate_cpu_seconds": 100.0, "rest_cpu_seconds": 1.25,
           "rate_e_hz": 40.0, "rate_i_hz": 20.0}
    # per neuron, 2 s x (1,000 x 40 + 250 x 20) = 90,000 spikes delivered
    assert bn.events(point, 40.0, 20.0) == pytest.approx(9e7, rel=EXACT)
    found = bn.costs(point, run)
    assert found["ms_per_neuron_second"] == pytest.approx(50.0, rel=EXACT)
    assert found["ns_per_event"] == pytest.approx(1e11 / 9e7, rel=EXACT)
    assert found["build_ns_per_synapse"] == pytest.approx(1000.0, rel=EXACT)
    assert bn.costs(point, dict(run, rate_e_hz=0.0, rate_i_hz=0.0))["ns_per_event"] is None


def test_phases_take_the_first_chunk_out_of_the_build():
    # 100 steps; the first note after 10 of them at 3 s wall, 2 s CPU; the last at 12 s
    # and 11 s: 9 s for 90 steps, so 10 s for the loop and 1 s of it before the first note
    notes = [(10, 3.0, 2.0), (55, 7.5, 6.5), (100, 12.0, 11.0)]
    phases = run_phases.split(notes, started=(0.5, 0.0), ended=(12.25, 11.125))
    assert phases["simulate"]["seconds"] == pytest.approx(10.0, rel=EXACT)
    assert phases["simulate"]["cpu_seconds"] == pytest.approx(10.0, rel=EXACT)
    assert phases["startup_build"]["seconds"] == pytest.approx(1.5, rel=EXACT)
    assert phases["startup_build"]["cpu_seconds"] == pytest.approx(1.0, rel=EXACT)
    assert phases["write"]["seconds"] == pytest.approx(0.25, rel=EXACT)
    assert phases["write"]["cpu_seconds"] == pytest.approx(0.125, rel=EXACT)
    with pytest.raises(ValueError, match="longer than one chunk"):
        run_phases.split([(100, 4.0, 3.0)], (0.0, 0.0), (4.0, 3.0))


def test_points_too_large_for_memory_are_skipped_and_said_so(monkeypatch, tmp_path):
    point = bn.Point(100000, 1000, 0.2, 0.1)
    # 125 M synapses at NEST's ~80 bytes each: ~10 GB, not in 70% of 8 GB
    assert bn.estimated_bytes("nest", point) == pytest.approx(10.3e9, rel=1e-9)
    monkeypatch.setattr(bn, "available_bytes", lambda: 8e9)
    runs = bn.run_point(point, tmp_path, ("nest",), set())
    assert runs == {"nest": {"skipped": "needs ~10.3 GB, 8.0 GB available"}}
    rows = bn.cost_rows([point], {point: runs}, lambda p: f"{p.n_neurons:,}")
    assert rows == [["100,000", "125 M", "0.2", "skipped", "-", "-", "-", "-"]]
