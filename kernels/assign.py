"""Association kernels: global nearest neighbour (GNN) over gated pairs.

A processing step hands the associator the gated candidate pairs
``(track slot i, plot j)`` with a cost ``c_ij`` (negative log-likelihood ratio
of assigning plot ``j`` to track ``i``; it may be negative) and, per track, a
missed-detection cost ``miss_i``.  A plot left unassigned costs 0 (it may start
a new track).  The GNN solution minimises

.. math::

    J = \\sum_{(i, j) \\in A} c_{ij} + \\sum_{i \\notin A} miss_i

over assignments ``A`` that use each track and each plot at most once and only
gated pairs.  The pairs split into independent clusters (connected components
of the bipartite track-plot graph); each cluster is solved optimally on its
own, the large ones by a rectangular linear sum assignment on the augmented
matrix ``[C | D]`` (Blackman & Popoli, *Design and Analysis of Modern Tracking
Systems*, 1999, sec. 6.5).

Tiers, as in stumpy: :func:`solve_gnn` and :func:`linear_sum_assignment` are
Python wrappers that validate their arguments and allocate outputs;
:func:`gnn_assign`, :func:`pair_clusters` and :func:`lsap` are the compiled
drivers (callable from other kernels; they check sizes and index ranges and
raise ``ValueError``); the workers (``_solve_cluster``, ``_lsap_core``,
``_augmenting_path``) do one cluster or one augmentation.

Tie rule (deterministic for a given pair sequence): tracks and plots of a
cluster are numbered in order of first appearance among the pairs; a
one-track cluster takes its lowest-cost plot (the first in pair order on
equal costs) and a one-plot cluster the track with the lowest ``c_ij - miss_i``
(the first in pair order on equal values), each only when that is strictly
better than leaving the track unassigned; larger clusters take the solution
found by the shortest augmenting path solver over the numbering above.
"""
import numpy as np

from kernels._jit import njit

#: Cost of a forbidden entry of an augmented matrix: large and finite (never
#: ``inf``), so that the solver's reduced costs stay finite.  A constant of
#: the algorithm, not a tuning parameter.
BIG_COST = 1e18

#: Largest accepted ``abs(cost)`` of a pair or a missed detection.  Costs far
#: below :data:`BIG_COST` keep a forbidden entry strictly worse than any
#: combination of allowed entries.
MAX_ABS_COST = 1e15


# ---------------------------------------------------------------------------
# Rectangular linear sum assignment (shortest augmenting path)
# ---------------------------------------------------------------------------

@njit
def _augmenting_path(cost, i, u, v, path, row4col, shortest, SR, SC, remaining):
    """Dijkstra search for a shortest augmenting path from free row ``i``.

    Reduced costs ``cost[r, c] - u[r] - v[c]`` are non-negative on every
    assigned row (dual feasibility), so Dijkstra applies; the first step
    leaves the free row ``i`` itself.

    Returns ``(sink, length)``: the free column that ends the path (-1 when
    every remaining column is unreachable) and the reduced length of the path.
    """
    m = cost.shape[1]
    n_remaining = m
    # Unvisited columns, stored in reverse order as in SciPy's implementation
    # of Crouse (2016); a visited column is swapped out from the end.
    for it in range(m):
        remaining[it] = m - it - 1
        SC[it] = False
        shortest[it] = np.inf
    for r in range(cost.shape[0]):
        SR[r] = False
    sink = -1
    path_length = 0.0
    while sink == -1:
        index = -1
        lowest = np.inf
        SR[i] = True
        for it in range(n_remaining):
            j = remaining[it]
            reduced = path_length + cost[i, j] - u[i] - v[j]
            if reduced < shortest[j]:
                path[j] = i
                shortest[j] = reduced
            # Prefer a free column among equals: it ends the search.
            if shortest[j] < lowest or (shortest[j] == lowest and row4col[j] == -1):
                lowest = shortest[j]
                index = it
        path_length = lowest
        if index == -1:
            return -1, path_length
        j = remaining[index]
        if row4col[j] == -1:
            sink = j
        else:
            i = row4col[j]
        SC[j] = True
        n_remaining -= 1
        remaining[index] = remaining[n_remaining]
    return sink, path_length


@njit
def _lsap_core(cost, row_to_col, u, v, shortest, path, row4col, SR, SC,
               remaining):
    """Worker of :func:`lsap` on caller-provided scratch.

    ``cost`` is (n, m) with n <= m; the scratch arrays have at least n (row
    arrays ``u``, ``SR``) or m (column arrays) entries.  Returns 0, or -1 if
    no complete assignment of finite cost exists.
    """
    n = cost.shape[0]
    m = cost.shape[1]
    for r in range(n):
        u[r] = 0.0
        row_to_col[r] = -1
    for c in range(m):
        v[c] = 0.0
        path[c] = -1
        row4col[c] = -1
    for current_row in range(n):
        sink, path_length = _augmenting_path(cost, current_row, u, v, path,
                                             row4col, shortest, SR, SC, remaining)
        if sink < 0:
            return -1
        # Dual update keeps u[r] + v[c] <= cost[r, c] with equality on the
        # assigned pairs (complementary slackness).
        u[current_row] += path_length
        for r in range(n):
            if SR[r] and r != current_row:
                u[r] += path_length - shortest[row_to_col[r]]
        for c in range(m):
            if SC[c]:
                v[c] -= path_length - shortest[c]
        # Augment: flip the assigned / free pairs along the path.
        c = sink
        while True:
            r = path[c]
            row4col[c] = r
            previous = row_to_col[r]
            row_to_col[r] = c
            c = previous
            if r == current_row:
                break
    return 0


@njit
def lsap(cost, row_to_col):
    """Rectangular linear sum assignment, minimum total cost.

    Solves

    .. math::

        \\min_{\\sigma} \\sum_{r=0}^{n-1} cost[r, \\sigma(r)]

    over injective maps ``sigma`` from the n rows to the m >= n columns, by
    the shortest augmenting path method (Jonker & Volgenant 1987; Crouse,
    "On implementing 2D rectangular assignment algorithms", IEEE TAES 2016),
    the method of ``scipy.optimize.linear_sum_assignment``.  Each of the n
    augmentations is a Dijkstra search on reduced costs
    ``cost[r, c] - u[r] - v[c]``, followed by the dual update; O(n^2 m).
    Columns are visited in SciPy's order, so among equal-cost optima it
    returns the one SciPy returns (checked on exact integer costs).

    Parameters
    ----------
    cost : ndarray, shape (n, m), float64
        Finite costs (negative allowed), ``n <= m``.  Use a large finite cost
        such as :data:`BIG_COST` for a forbidden entry, never ``inf``.
    row_to_col : ndarray, shape (n,), int64
        Output: the column assigned to each row; all distinct.

    Returns
    -------
    total : float
        ``sum(cost[r, row_to_col[r]])``.

    Raises
    ------
    ValueError
        If ``n > m``, ``row_to_col`` has the wrong length, or a cost is NaN
        or infinite.
    """
    n = cost.shape[0]
    m = cost.shape[1]
    if n > m:
        raise ValueError("lsap: cost must have no more rows than columns (transpose it)")
    if row_to_col.shape[0] != n:
        raise ValueError("lsap: row_to_col must have one entry per row of cost")
    for r in range(n):
        for c in range(m):
            if not np.isfinite(cost[r, c]):
                raise ValueError("lsap: cost must be finite (use a large finite cost, not inf or NaN)")
    if n == 0:
        return 0.0
    u = np.empty(n)
    v = np.empty(m)
    shortest = np.empty(m)
    path = np.empty(m, dtype=np.int64)
    row4col = np.empty(m, dtype=np.int64)
    SR = np.empty(n, dtype=np.bool_)
    SC = np.empty(m, dtype=np.bool_)
    remaining = np.empty(m, dtype=np.int64)
    _lsap_core(cost, row_to_col, u, v, shortest, path, row4col, SR, SC,
               remaining)
    total = 0.0
    for r in range(n):
        total += cost[r, row_to_col[r]]
    return total


# ---------------------------------------------------------------------------
# Clusters of pairs
# ---------------------------------------------------------------------------

@njit
def _find(parent, node):
    """Root of ``node``, halving the path on the way (parent[x] = grandparent)."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


@njit
def pair_clusters(n_tracks, n_plots, pair_track, pair_plot, cluster_of_pair):
    """Split gated pairs into independent clusters.

    Union-find (path halving, union by size) over the bipartite graph whose
    nodes are tracks ``0 .. n_tracks-1`` and plots ``n_tracks .. n_tracks +
    n_plots - 1`` and whose edges are the pairs; two pairs share a cluster iff
    they are connected through shared tracks and plots.  O(k + n_tracks +
    n_plots) up to the inverse Ackermann factor.

    Parameters
    ----------
    n_tracks, n_plots : int
        Number of track slots and of plots.
    pair_track, pair_plot : ndarray, shape (k,), int64
        Track slot and plot index of each pair.
    cluster_of_pair : ndarray, shape (k,), int64
        Output: cluster of each pair, numbered ``0 .. n_clusters-1`` in order
        of first appearance among the pairs.

    Returns
    -------
    n_clusters : int

    Raises
    ------
    ValueError
        On mismatched lengths or an index out of range.
    """
    k = pair_track.shape[0]
    if pair_plot.shape[0] != k or cluster_of_pair.shape[0] != k:
        raise ValueError("pair_clusters: pair_track, pair_plot and cluster_of_pair must have the same length")
    n_nodes = n_tracks + n_plots
    for p in range(k):
        if pair_track[p] < 0 or pair_track[p] >= n_tracks:
            raise ValueError("pair_clusters: pair_track out of range [0, n_tracks)")
        if pair_plot[p] < 0 or pair_plot[p] >= n_plots:
            raise ValueError("pair_clusters: pair_plot out of range [0, n_plots)")
    parent = np.empty(n_nodes, dtype=np.int64)
    size = np.ones(n_nodes, dtype=np.int64)
    for node in range(n_nodes):
        parent[node] = node
    for p in range(k):
        a = _find(parent, pair_track[p])
        b = _find(parent, n_tracks + pair_plot[p])
        if a == b:
            continue
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
    # Reuse `size` as the root -> cluster label map.
    size[:] = -1
    n_clusters = 0
    for p in range(k):
        root = _find(parent, pair_track[p])
        if size[root] == -1:
            size[root] = n_clusters
            n_clusters += 1
        cluster_of_pair[p] = size[root]
    return n_clusters


# ---------------------------------------------------------------------------
# Global nearest neighbour
# ---------------------------------------------------------------------------

@njit
def _solve_cluster(pairs, pair_track, pair_plot, pair_cost, miss_cost,
                   tracks, plots, local_track, local_plot, matrix_buffer,
                   row_to_col, u, v, shortest, path, row4col, SR, SC,
                   remaining, plot_of_track, track_of_plot):
    """Solve one cluster; returns the number of assigned tracks.

    ``pairs`` holds the cluster's pair indices in pair order, ``tracks`` and
    ``plots`` its track slots and plots in order of first appearance, and
    ``local_track`` / ``local_plot`` map a slot / plot to that position.
    """
    n_t = tracks.shape[0]
    n_p = plots.shape[0]
    if n_t == 1:
        # One track (one or many plots, duplicates included): its best plot,
        # first in pair order on equal costs, if better than a miss.
        best = pairs[0]
        for q in range(1, pairs.shape[0]):
            if pair_cost[pairs[q]] < pair_cost[best]:
                best = pairs[q]
        if pair_cost[best] < miss_cost[pair_track[best]]:
            plot_of_track[pair_track[best]] = pair_plot[best]
            track_of_plot[pair_plot[best]] = pair_track[best]
            return 1
        return 0
    if n_p == 1:
        # One plot, several tracks: J = sum(miss) + min(0, min_i(c_i - miss_i)).
        best = pairs[0]
        best_gain = pair_cost[best] - miss_cost[pair_track[best]]
        for q in range(1, pairs.shape[0]):
            gain = pair_cost[pairs[q]] - miss_cost[pair_track[pairs[q]]]
            if gain < best_gain:
                best = pairs[q]
                best_gain = gain
        if best_gain < 0.0:
            plot_of_track[pair_track[best]] = pair_plot[best]
            track_of_plot[pair_plot[best]] = pair_track[best]
            return 1
        return 0
    # Augmented matrix [C | D]: C[r, c] pair cost (lowest of duplicates) or
    # BIG_COST; D[r, r] = miss of track r, BIG_COST off the diagonal.  Every
    # row has a finite entry of its own in D, so an optimum never uses BIG.
    n_columns = n_p + n_t
    M = matrix_buffer[:n_t * n_columns].reshape((n_t, n_columns))
    M[:, :] = BIG_COST
    for q in range(pairs.shape[0]):
        p = pairs[q]
        r = local_track[pair_track[p]]
        c = local_plot[pair_plot[p]]
        if pair_cost[p] < M[r, c]:
            M[r, c] = pair_cost[p]
    for r in range(n_t):
        M[r, n_p + r] = miss_cost[tracks[r]]
    # Scratch sliced to this cluster: no work proportional to the largest.
    _lsap_core(M, row_to_col[:n_t], u[:n_t], v[:n_columns],
               shortest[:n_columns], path[:n_columns], row4col[:n_columns],
               SR[:n_t], SC[:n_columns], remaining[:n_columns])
    n_assigned = 0
    for r in range(n_t):
        c = row_to_col[r]
        if c < n_p and M[r, c] < BIG_COST:
            plot_of_track[tracks[r]] = plots[c]
            track_of_plot[plots[c]] = tracks[r]
            n_assigned += 1
    return n_assigned


@njit
def gnn_assign(n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost,
               plot_of_track, track_of_plot):
    """Global nearest neighbour assignment of plots to tracks.

    Minimises

    .. math::

        J = \\sum_{(i, j) \\in A} c_{ij} + \\sum_{i \\notin A} miss_i

    over assignments ``A`` of gated pairs using each track slot and each plot
    at most once (unassigned plots cost 0).  The pairs are split by
    :func:`pair_clusters`; per cluster of ``n_t`` tracks and ``n_p`` plots:

    * one track: its lowest-cost plot, iff ``c_ij < miss_i``;
    * one plot: the track with the lowest ``c_ij - miss_i``, iff negative;
    * otherwise :func:`lsap` on the ``n_t x (n_p + n_t)`` augmented matrix
      ``[C | D]``, ``C[r, c] = c_ij`` (or ``BIG_COST`` if not gated),
      ``D = diag(miss)`` with ``BIG_COST`` off the diagonal; a row assigned
      to a ``D`` column or a ``BIG_COST`` entry is unassigned.

    For duplicate (track, plot) pairs the lowest cost counts.  See the module
    docstring for the tie rule.  Cost O(n_tracks + n_plots + k) plus the
    assignment solves; scratch is allocated once per call, never per cluster.

    Parameters
    ----------
    n_tracks, n_plots : int
        Number of track slots and of plots.
    pair_track, pair_plot : ndarray, shape (k,), int64
        Track slot and plot index of each gated pair, in any order.
    pair_cost : ndarray, shape (k,), float64
        ``c_ij`` of each pair; ``abs(c_ij) < MAX_ABS_COST``.
    miss_cost : ndarray, shape (n_tracks,), float64
        ``miss_i`` per track slot; only slots that appear in ``pair_track``
        are read (and must satisfy ``abs(miss_i) < MAX_ABS_COST``).
    plot_of_track : ndarray, shape (n_tracks,), int64
        Output: assigned plot of each slot, -1 if none.
    track_of_plot : ndarray, shape (n_plots,), int64
        Output: assigned track slot of each plot, -1 if none.

    Returns
    -------
    n_assigned : int
        Number of assigned pairs, at most ``min(n_tracks, n_plots)``.

    Raises
    ------
    ValueError
        On mismatched lengths, an index out of range, or a cost that is NaN,
        infinite or not below ``MAX_ABS_COST`` in magnitude.
    """
    k = pair_track.shape[0]
    if pair_plot.shape[0] != k or pair_cost.shape[0] != k:
        raise ValueError("gnn_assign: pair_track, pair_plot and pair_cost must have the same length")
    if miss_cost.shape[0] != n_tracks or plot_of_track.shape[0] != n_tracks:
        raise ValueError("gnn_assign: miss_cost and plot_of_track must have n_tracks entries")
    if track_of_plot.shape[0] != n_plots:
        raise ValueError("gnn_assign: track_of_plot must have n_plots entries")
    plot_of_track[:] = -1
    track_of_plot[:] = -1
    if k == 0:
        return 0
    for p in range(k):
        # `not (abs(x) < limit)` also rejects NaN.
        if not (abs(pair_cost[p]) < MAX_ABS_COST):
            raise ValueError("gnn_assign: pair_cost must be finite with abs(cost) < MAX_ABS_COST")
    cluster_of_pair = np.empty(k, dtype=np.int64)
    n_clusters = pair_clusters(n_tracks, n_plots, pair_track, pair_plot,
                               cluster_of_pair)
    for p in range(k):
        if not (abs(miss_cost[pair_track[p]]) < MAX_ABS_COST):
            raise ValueError("gnn_assign: miss_cost of a paired track must be finite with abs(cost) < MAX_ABS_COST")

    # Number tracks and plots per cluster in order of first appearance; the
    # maps are written once per node (a node lies in exactly one cluster).
    local_track = np.full(n_tracks, -1, dtype=np.int64)
    local_plot = np.full(n_plots, -1, dtype=np.int64)
    n_tracks_of = np.zeros(n_clusters, dtype=np.int64)
    n_plots_of = np.zeros(n_clusters, dtype=np.int64)
    n_pairs_of = np.zeros(n_clusters, dtype=np.int64)
    for p in range(k):
        cl = cluster_of_pair[p]
        n_pairs_of[cl] += 1
        if local_track[pair_track[p]] == -1:
            local_track[pair_track[p]] = n_tracks_of[cl]
            n_tracks_of[cl] += 1
        if local_plot[pair_plot[p]] == -1:
            local_plot[pair_plot[p]] = n_plots_of[cl]
            n_plots_of[cl] += 1

    # Counting sort: segment of each cluster in the pair, track, plot lists.
    pair_start = np.empty(n_clusters + 1, dtype=np.int64)
    track_start = np.empty(n_clusters + 1, dtype=np.int64)
    plot_start = np.empty(n_clusters + 1, dtype=np.int64)
    pair_start[0] = 0
    track_start[0] = 0
    plot_start[0] = 0
    max_rows = 0
    max_columns = 0
    max_cells = 0
    for cl in range(n_clusters):
        pair_start[cl + 1] = pair_start[cl] + n_pairs_of[cl]
        track_start[cl + 1] = track_start[cl] + n_tracks_of[cl]
        plot_start[cl + 1] = plot_start[cl] + n_plots_of[cl]
        if n_tracks_of[cl] > 1 and n_plots_of[cl] > 1:
            n_columns = n_plots_of[cl] + n_tracks_of[cl]
            max_rows = max(max_rows, n_tracks_of[cl])
            max_columns = max(max_columns, n_columns)
            max_cells = max(max_cells, n_tracks_of[cl] * n_columns)
    pairs_sorted = np.empty(k, dtype=np.int64)
    tracks_sorted = np.empty(track_start[n_clusters], dtype=np.int64)
    plots_sorted = np.empty(plot_start[n_clusters], dtype=np.int64)
    n_pairs_of[:] = 0
    for p in range(k):
        cl = cluster_of_pair[p]
        pairs_sorted[pair_start[cl] + n_pairs_of[cl]] = p
        n_pairs_of[cl] += 1
        tracks_sorted[track_start[cl] + local_track[pair_track[p]]] = pair_track[p]
        plots_sorted[plot_start[cl] + local_plot[pair_plot[p]]] = pair_plot[p]

    # Scratch for the largest augmented problem, shared by all clusters.
    matrix_buffer = np.empty(max_cells)
    row_to_col = np.empty(max_rows, dtype=np.int64)
    u = np.empty(max_rows)
    SR = np.empty(max_rows, dtype=np.bool_)
    v = np.empty(max_columns)
    shortest = np.empty(max_columns)
    path = np.empty(max_columns, dtype=np.int64)
    row4col = np.empty(max_columns, dtype=np.int64)
    SC = np.empty(max_columns, dtype=np.bool_)
    remaining = np.empty(max_columns, dtype=np.int64)

    n_assigned = 0
    for cl in range(n_clusters):
        n_assigned += _solve_cluster(
            pairs_sorted[pair_start[cl]:pair_start[cl + 1]],
            pair_track, pair_plot, pair_cost, miss_cost,
            tracks_sorted[track_start[cl]:track_start[cl + 1]],
            plots_sorted[plot_start[cl]:plot_start[cl + 1]],
            local_track, local_plot, matrix_buffer,
            row_to_col, u, v, shortest, path, row4col, SR, SC, remaining,
            plot_of_track, track_of_plot)
    return n_assigned


# ---------------------------------------------------------------------------
# Python wrappers
# ---------------------------------------------------------------------------

def _index_array(name, values, size, limit_name):
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.int64)
    if array.size:
        low = int(array.min())
        high = int(array.max())
        if low < 0 or high >= size:
            raise ValueError(
                f"{name} must lie in [0, {limit_name}={size}), got values in [{low}, {high}]")
    return array


def _cost_array(name, values):
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def solve_gnn(n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost):
    """Validate, allocate the outputs and run :func:`gnn_assign`.

    Parameters
    ----------
    n_tracks, n_plots : int
        Number of track slots and of plots.
    pair_track, pair_plot : array_like, shape (k,), int
        Track slot and plot index of each gated pair.
    pair_cost : array_like, shape (k,), float
        Cost of each pair (negative log-likelihood ratio).
    miss_cost : array_like, shape (n_tracks,), float
        Missed-detection cost per track slot (read for paired slots only).

    Returns
    -------
    plot_of_track : ndarray, shape (n_tracks,), int64
        Assigned plot per slot, -1 if none.
    track_of_plot : ndarray, shape (n_plots,), int64
        Assigned slot per plot, -1 if none.
    n_assigned : int
    """
    n_tracks = int(n_tracks)
    n_plots = int(n_plots)
    if n_tracks < 0 or n_plots < 0:
        raise ValueError(f"n_tracks and n_plots must be >= 0, got {n_tracks} and {n_plots}")
    pair_track = _index_array("pair_track", pair_track, n_tracks, "n_tracks")
    pair_plot = _index_array("pair_plot", pair_plot, n_plots, "n_plots")
    pair_cost = _cost_array("pair_cost", pair_cost)
    miss_cost = _cost_array("miss_cost", miss_cost)
    if not pair_track.shape == pair_plot.shape == pair_cost.shape:
        raise ValueError(
            "pair_track, pair_plot and pair_cost must have the same length, got "
            f"{pair_track.size}, {pair_plot.size} and {pair_cost.size}")
    if miss_cost.size != n_tracks:
        raise ValueError(f"miss_cost must have n_tracks={n_tracks} entries, got {miss_cost.size}")
    bad = ~(np.abs(pair_cost) < MAX_ABS_COST)
    if bad.any():
        raise ValueError(
            f"pair_cost must be finite with abs < {MAX_ABS_COST:g}; "
            f"first bad pair {int(np.argmax(bad))}: {float(pair_cost[bad][0])}")
    paired_miss = miss_cost[pair_track]
    bad = ~(np.abs(paired_miss) < MAX_ABS_COST)
    if bad.any():
        raise ValueError(
            f"miss_cost must be finite with abs < {MAX_ABS_COST:g} for paired tracks; "
            f"track {int(pair_track[bad][0])} has {float(paired_miss[bad][0])}")
    plot_of_track = np.empty(n_tracks, dtype=np.int64)
    track_of_plot = np.empty(n_plots, dtype=np.int64)
    n_assigned = gnn_assign(n_tracks, n_plots, pair_track, pair_plot, pair_cost,
                            miss_cost, plot_of_track, track_of_plot)
    return plot_of_track, track_of_plot, int(n_assigned)


def linear_sum_assignment(cost):
    """Validate and run :func:`lsap` on a matrix of any orientation.

    Parameters
    ----------
    cost : array_like, shape (n, m), float
        Finite costs.  A tall matrix (``n > m``) is solved transposed.

    Returns
    -------
    rows, columns : ndarray, shape (min(n, m),), int64
        Assigned pairs, ``rows`` increasing (as SciPy returns them).
    total : float
        ``cost[rows, columns].sum()``.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be two-dimensional, got shape {cost.shape}")
    if not np.isfinite(cost).all():
        raise ValueError("cost must be finite; use a large finite cost such as BIG_COST, not inf or NaN")
    transposed = cost.shape[0] > cost.shape[1]
    work = np.ascontiguousarray(cost.T if transposed else cost)
    row_to_col = np.empty(work.shape[0], dtype=np.int64)
    total = lsap(work, row_to_col)
    if transposed:
        order = np.argsort(row_to_col)
        return row_to_col[order], order.astype(np.int64), float(total)
    return np.arange(work.shape[0], dtype=np.int64), row_to_col, float(total)
