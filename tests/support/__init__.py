"""Harness code shared by the tests and the benchmarks, not installed with miind-cli.

- `studies`: mesh and run a LIF population from parameters, in process;
- `grid_studies`: the same for a 2D population beside a direct simulation;
- `reference`: the ground truths they are compared with (the Siegert formula, an exact
  event-driven Monte Carlo of LIF neurons).

The benchmarks (run as scripts from benchmarks/) put the repository root on the path
to import it (benchmarks/bench_report.py).
"""
