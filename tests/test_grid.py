"""The counting sort of kernels/_grid.py against a plain stable sort."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import naive_grid as naive
from kernels._grid import sort_into_cells


@settings(max_examples=200, deadline=None)
@given(n_cells=st.integers(1, 40), data=st.data())
def test_sort_into_cells_matches_a_stable_sort(n_cells, data):
    cell_of = np.array(data.draw(st.lists(st.integers(0, n_cells - 1), max_size=120)), np.int64)
    cell_start, order = sort_into_cells(cell_of, n_cells)
    expected_start, expected_order = naive.sort_into_cells(cell_of, n_cells)
    np.testing.assert_array_equal(cell_start, expected_start)
    np.testing.assert_array_equal(order, expected_order)
    for c in range(n_cells):
        assert np.all(cell_of[order[cell_start[c]:cell_start[c + 1]]] == c)


def test_empty_and_single_cell():
    cell_start, order = sort_into_cells(np.zeros(0, np.int64), 3)
    assert cell_start.tolist() == [0, 0, 0, 0] and order.size == 0
    cell_start, order = sort_into_cells(np.zeros(5, np.int64), 1)
    assert cell_start.tolist() == [0, 5] and order.tolist() == [0, 1, 2, 3, 4]
