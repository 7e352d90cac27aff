"""The padded-polygon helpers of 2D strip meshes, on cells whose answers are known."""

import numpy as np

from meshgen.padded_polygons import edge_crossings, polygon_areas

# A unit square (counter-clockwise), a right triangle of legs 2 and 3 padded to four
# corners by repeating its last one, and the square again clockwise.
CELLS = np.array([
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
    [[0.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 3.0]],
    [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]],
])


def test_areas_of_padded_cells_either_way_round():
    np.testing.assert_allclose(polygon_areas(CELLS), [1.0, 3.0, 1.0], rtol=0, atol=1e-15)


def test_a_line_crosses_each_cell_between_its_edges():
    # y = 1.5 crosses the triangle from x = 0 (its left leg) to x = 1 (its hypotenuse).
    straddles, crossing = edge_crossings(CELLS, 1, 1.5)
    assert straddles.sum(axis=1).tolist() == [0, 2, 0]
    assert sorted(crossing[1][straddles[1]]) == [0.0, 1.0]
    # x = 0.25 crosses the square's bottom and top edges, at y = 0 and 1.
    straddles, crossing = edge_crossings(CELLS, 0, 0.25)
    assert sorted(crossing[0][straddles[0]]) == [0.0, 1.0]


def test_a_point_on_a_shared_edge_lies_on_one_side_only():
    # Half open: the line y = 1, the square's top edge, misses the square (no edge
    # straddles it) and a line just below it crosses it (two edges do), so the cell
    # above that edge, not this one, holds a point on it.
    straddles, _ = edge_crossings(CELLS[:1], 1, 1.0)
    assert straddles.sum() == 0
    straddles, _ = edge_crossings(CELLS[:1], 1, np.nextafter(1.0, 0.0))
    assert straddles.sum() == 2
