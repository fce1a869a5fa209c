"""Slow reference for ``kernels._grid.sort_into_cells``: a plain stable sort."""
import numpy as np


def sort_into_cells(cell_of, n_cells):
    """``(cell_start, order)`` from Python's stable ``sorted`` and a count per cell.

    ``order`` lists the point indices by cell, each cell's in increasing
    order; the points of cell ``c`` are ``order[cell_start[c]:cell_start[c + 1]]``.
    """
    cell_of = [int(c) for c in cell_of]
    order = sorted(range(len(cell_of)), key=lambda i: cell_of[i])
    cell_start = [0]
    for c in range(n_cells):
        cell_start.append(cell_start[-1] + cell_of.count(c))
    return np.array(cell_start, np.int64), np.array(order, np.int64)
