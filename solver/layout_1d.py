"""The kernels' arguments: named tuples of plain arrays (see solver.kernels_1d), and
the truncation of their Poisson series (also used by solver.step_operator_1d).

Kept apart from the kernels so that the run path can build them without importing
numba when the ahead-of-time compiled kernels are used (solver.backend).
"""

from collections import namedtuple

Mesh = namedtuple("Mesh", [
    "cell_offset",  # (P+1,) global cell range of each population
    "cell_strip",  # (N,) strip of each logical cell, -1 if stationary
    "stationary_offset", "stationary_cells",  # (P+1,), the cells with cell_strip -1
    "cell_position",  # (N,) position of the cell in its strip
    "centres",  # (N,) logical cell centres
    "strip_first", "strip_length", "strip_terminal",  # (S,) global; terminal -1 = threshold
    "pop_strip_offset",  # (P+1,)
    "gap_offset",  # (P+1,) range of each population's entry gaps
    "gap_entry_cell",  # (G,) global logical cell an entry gap feeds
    "reset_offset", "reset_cells", "reset_fractions",
    "reset_potential",  # (P,)
    "refractory_steps",  # (P,) refractory period in mesh steps (float)
    "substeps",  # (P,) mesh steps per network step
    "jump_interval",  # (P,) mesh steps per application of the jump matrices
])

Matrices = namedtuple("Matrices", [
    "indptr_offset",  # (M+1,) range of each matrix in `indptr`
    "indptr",  # concatenated, values index `indices`/`data` directly
    "indices",  # row, local to the population's work buffer
    "data",
    "threshold_offset",  # (M,) start of each matrix's threshold fractions
    "threshold_fraction",
])

Coupling = namedtuple("Coupling", [
    "group_pop",  # (Gr,) target population of each (population, matrix) group
    "group_matrix",  # (Gr,)
    "conn_group",  # (C,)
    "conn_source_pop",  # (C,) -1 when the source is an input
    "conn_source_input",  # (C,)
    "conn_count",  # (C,) number of connections (float)
    "conn_delay",  # (C,) delay in network steps (float, >= 1)
])

# The jumps of a population with one jump matrix whose cells can be ranked so that
# every jump goes to a higher rank or stays in its cell (jumps of one sign), in the
# form that one pass in rank order applies (solver.kernels_1d.apply_jumps_ranked).
# Other populations have an empty range and take solver.kernels_1d.apply_jumps.
JumpRanks = namedtuple("JumpRanks", [
    "pop_offset",  # (P+1,) each population's range of ranks (its work buffer's size, or 0)
    "cell",  # (R,) work-buffer index of the cell at each rank
    "theta",  # (R,) fraction of the cell that a jump takes past threshold
    "diagonal",  # (R,) fraction of the cell that a jump leaves in it
    "slot_source",  # (R, RANKED_SLOTS) rank (within the population) of a source of the
                    # cell; the population's size for an unused slot
    "slot_weight",  # (R, RANKED_SLOTS) the matrix entry
    "extra_offset",  # (R+1,) sources beyond the slots: range in the extra_ arrays
    "extra_source", "extra_weight",
])
# Sources kept in fixed slots of a rank: a jump from cells smaller than the target
# fills one or two, and fixed slots spare the pass a loop of unpredictable length.
RANKED_SLOTS = 2
# Poisson terms (0 to 4 jumps in a step) the ranked pass carries; steps that need
# more take apply_jumps.
RANKED_TERMS = 5

State = namedtuple("State", [
    "mass",  # (N,) physical layout
    "pop_step",  # (P,) mesh steps taken
    "refractory_queue",  # (P, Q)
    "rate_history",  # (P, H) population rates of past network steps
])

# Truncation of the Poisson series: stop when the probability of more jumps in the
# step is below POISSON_TAIL times the expected number of jumps. The left-out tail
# (moved to the last term, so no mass is lost) changes the jump statistics by less
# than 1e-5 relative: on the public case the rate moves by 4e-5 relative against a
# tail of 1e-7, far below the mesh's own error (3e-3), for 10% less work.
POISSON_TAIL = 1e-5
MAX_POISSON_TERMS = 200
