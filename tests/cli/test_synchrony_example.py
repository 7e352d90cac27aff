"""`make synchrony` (examples/synchrony/study.py) end to end on one small case: every
point runs and is measured, the figures and the results are written, and the figures
can be redrawn from them."""

from __future__ import annotations

import json

from examples.synchrony import cases, study


def test_the_study_runs_measures_and_draws(tmp_path, capsys):
    case = cases.CASES[-1]
    assert study.main(["--n", "3", "--t-end", "0.3", "--case", case.name,
                       "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    assert len(rows) == 2 * len(case.strengths)
    assert {r["status"] for r in rows} == {"ok"}
    assert all(0.0 <= r["locking"][0] <= 1.0 for r in rows)
    figures = [tmp_path / "sweep_N3.png", tmp_path / "rasters_N3.png"]
    assert capsys.readouterr().out.split() == [str(f) for f in figures]
    for figure in figures:
        figure.unlink()
    assert study.main(["--plot-only", "--out", str(tmp_path)]) == 0
    assert all(figure.stat().st_size > 0 for figure in figures)
    # Each point's simulation file is kept beside its output, to be re-run by hand.
    assert all((tmp_path / "runs" / f"{study.point_name(case, 3, s, b)}.toml").exists()
               for s in case.strengths for b in (False, True))


def test_chosen_strengths_replace_only_their_case_and_size(tmp_path):
    """A few points of a large N (`--strength`): the case's rows of that N are the
    chosen strengths, without and with background, and the rows already in
    results.json of other N stay."""
    case = next(c for c in cases.CASES if c.coupling.name == "gap")
    chosen = [0.0, case.strengths[-1]]
    for n_neurons, strengths in ((4, chosen[:1]), (3, chosen)):
        assert study.main(["--n", str(n_neurons), "--t-end", "0.1", "--case", case.name,
                           "--out", str(tmp_path), "--strength", *map(str, strengths)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())
    for n_neurons, strengths in ((4, chosen[:1]), (3, chosen)):
        assert sorted((r["strength"], r["background"]) for r in rows
                      if r["n_neurons"] == n_neurons) == \
            sorted((s, b) for s in strengths for b in (False, True))
