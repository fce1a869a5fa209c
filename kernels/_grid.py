"""Counting sort of points into the cells of a grid (shared by gating and flocking)."""
import numpy as np

from kernels._jit import njit


@njit
def sort_into_cells(cell_of, n_cells):
    """Group points by cell.

    Parameters
    ----------
    cell_of : ndarray, shape (k,), int64
        Cell index of each point, in ``[0, n_cells)``.
    n_cells : int

    Returns
    -------
    cell_start : ndarray, shape (n_cells + 1,), int64
        The points of cell ``c`` are ``order[cell_start[c]:cell_start[c + 1]]``.
    order : ndarray, shape (k,), int64
        Point indices grouped by cell, each cell's in increasing order.
    """
    k = cell_of.shape[0]
    cell_start = np.zeros(n_cells + 1, np.int64)
    for i in range(k):
        cell_start[cell_of[i] + 1] += 1
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    order = np.empty(k, np.int64)
    for i in range(k):
        order[fill[cell_of[i]]] = i
        fill[cell_of[i]] += 1
    return cell_start, order
