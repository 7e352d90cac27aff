"""The table of which `miind analyze` options go together (miind_cli.analyze_options),
checked option by option against every action."""

from __future__ import annotations

import pytest

from miind_cli.analyze_options import (ACTIONS, ALONE, MODIFIES, combination_problem,
                                       option_name)


@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_alone_is_enough(action):
    assert combination_problem({action}) is None


def test_nothing_to_do_lists_every_action():
    problem = combination_problem(set())
    assert problem.startswith("nothing to do: give --summary, --csv")
    assert all(f"--{name}" in problem for name in ACTIONS + (ALONE,))
    assert combination_problem({"window", "bin"}).startswith("nothing to do")


@pytest.mark.parametrize("modifier, action", [(m, a) for m, actions in MODIFIES.items()
                                              for a in ACTIONS])
def test_a_modifier_needs_one_of_its_actions(modifier, action):
    problem = combination_problem({modifier, action})
    if action in MODIFIES[modifier]:
        assert problem is None
    else:
        assert problem.startswith(f"{option_name(modifier)} goes with --")
        assert all(option_name(name) in problem for name in MODIFIES[modifier])


def test_the_messages_read_as_lists():
    assert combination_problem({"fps", "density"}) == "--fps goes with --movie"
    assert combination_problem({"time", "movie"}) == "--time goes with --density or --marginals"
    assert combination_problem({"log", "summary"}) == "--log goes with --density or --movie"


def test_the_spike_measures_go_with_summary_and_burst_isi_with_phase_locking():
    """Options are named as they are typed (--burst-isi, not the field burst_isi)."""
    assert combination_problem({"sttc", "phase_locking", "burst_isi", "summary"}) is None
    assert combination_problem({"sttc", "csv"}) == "--sttc goes with --summary"
    assert combination_problem({"phase_locking", "plot"}) == \
        "--phase-locking goes with --summary"
    assert combination_problem({"burst_isi", "summary"}) == \
        "--burst-isi goes with --phase-locking"


@pytest.mark.parametrize("other", ACTIONS + tuple(MODIFIES))
def test_mesh_goes_alone(other):
    assert combination_problem({ALONE}) is None
    problem = combination_problem({ALONE, other})
    assert problem.startswith("--mesh draws a mesh artifact and takes no other analyze option")
    assert problem.endswith(f"got {option_name(other)}")
