"""Counting sort of points into the cells of a grid (shared by gating and flocking)."""
import math

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


@njit
def horizontal_cells(x, cell_m):
    """Cells of a dense horizontal grid over the points ``x[:, 0:2]`` (east, north).

    Square cells at least ``cell_m`` wide, doubled while the points'
    bounding box would need more than ``4 k + 16`` of them, so that the grid
    stays O(k).  A neighbour within ``cell_m`` of a point is in the 3 x 3
    cells around its own.

    Returns
    -------
    cell_of : ndarray, shape (k,), int64
        Cell of each point, ``cx * n_y + cy``.
    n_x, n_y : int
        Grid size.
    """
    k = x.shape[0]
    e_min = x[0, 0]
    e_max = x[0, 0]
    n_min = x[0, 1]
    n_max = x[0, 1]
    for a in range(1, k):
        e_min = min(e_min, x[a, 0])
        e_max = max(e_max, x[a, 0])
        n_min = min(n_min, x[a, 1])
        n_max = max(n_max, x[a, 1])
    while (math.floor((e_max - e_min) / cell_m) + 1.0) * (math.floor((n_max - n_min) / cell_m)
                                                          + 1.0) > 4 * k + 16:
        cell_m *= 2.0
    n_x = int(math.floor((e_max - e_min) / cell_m)) + 1
    n_y = int(math.floor((n_max - n_min) / cell_m)) + 1
    cell_of = np.empty(k, np.int64)
    for a in range(k):
        cell_of[a] = (min(int((x[a, 0] - e_min) / cell_m), n_x - 1) * n_y
                      + min(int((x[a, 1] - n_min) / cell_m), n_y - 1))
    return cell_of, n_x, n_y
