"""Density populations on 2D grid meshes (meshgen.grid2d): their arrays and state.

Coupled to the rest of a simulation like direct populations, through rate tables
filled between chunks (solver.assembly); the step itself is solver.grid_kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from meshgen.artifact import GridArtifact
from meshgen.grid2d import Grid

from . import grid_kernels


@dataclass
class GridPopulation:
    name: str
    artifact: GridArtifact
    group_jump: np.ndarray  # (groups,) index of each input group's jump matrix
    n_steps: int
    dt: float
    mass: np.ndarray = field(init=False)
    queue: np.ndarray = field(init=False)
    rate: np.ndarray = field(init=False)
    total_mass: np.ndarray = field(init=False)
    mean: np.ndarray = field(init=False)  # (2, n_steps)

    def __post_init__(self):
        a = self.artifact
        n = a.n_cells
        self.grid = Grid(a.variables, tuple(map(tuple, a.ranges)), tuple(a.resolution))
        self.centres = self.grid.cell_centres()
        refractory_steps = int(round(a.refractory / self.dt))
        self.mass = np.zeros(n)
        self.queue = np.zeros((refractory_steps + 1, n))
        self.rate = np.zeros(self.n_steps)
        self.total_mass = np.zeros(self.n_steps)
        self.mean = np.zeros((2, self.n_steps))
        self.work = np.zeros((4, n))
        jumps = a.jumps
        self.jump_indptr = (np.array([j.indptr for j in jumps], dtype=np.int64) if jumps
                            else np.zeros((0, n + 1), dtype=np.int64))
        self.jump_offset = np.cumsum([0] + [len(j.data) for j in jumps]).astype(np.int64)
        self.jump_indices = np.concatenate([j.indices for j in jumps] + [np.zeros(0, np.int64)]
                                           ).astype(np.int64)
        self.jump_data = np.concatenate([j.data for j in jumps] + [np.zeros(0)])
        self.jump_fired = (np.array([j.fired for j in jumps]) if jumps else np.zeros((0, n)))

    def set_initial(self, state: dict[str, float]) -> None:
        """All mass in the cell holding the initial state."""
        self.mass[:] = 0.0
        self.mass[self.grid.locate(state[self.grid.variables[0]],
                                   state[self.grid.variables[1]])] = 1.0

    def advance(self, first_step: int, n_steps: int, group_rates: np.ndarray) -> None:
        a = self.artifact
        grid_kernels.advance_grid(
            a.motion.indptr, a.motion.indices, a.motion.data, a.motion.fired,
            self.jump_indptr, self.jump_offset, self.jump_indices, self.jump_data,
            self.jump_fired, self.group_jump, a.reset.indptr, a.reset.indices, a.reset.data,
            np.ascontiguousarray(group_rates), first_step, n_steps, self.dt, self.mass,
            self.queue, self.centres[0], self.centres[1], self.rate, self.total_mass,
            self.mean[0], self.mean[1], self.work)
