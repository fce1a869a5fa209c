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
Systems*, 1999, sec. 6.5), solved on its allowed entries only
(:func:`sparse_lsap`): a dense cluster of tens of thousands of pairs costs
what its pairs cost, not tracks x plots.

Tiers, as in stumpy: :func:`solve_gnn` and :func:`linear_sum_assignment` are
Python wrappers that validate their arguments and allocate outputs;
:func:`gnn_assign`, :func:`pair_clusters`, :func:`lsap` and
:func:`sparse_lsap` are the compiled drivers (callable from other kernels;
they check sizes and index ranges and raise ``ValueError``); the workers
(``_solve_cluster``, ``_lsap_core``, ``_augmenting_path`` and their sparse
twins) do one cluster or one augmentation.

Tie rule (deterministic for a given pair sequence): tracks and plots of a
cluster are numbered in order of first appearance among the pairs; a
one-track cluster takes its lowest-cost plot (the first in pair order on
equal costs) and a one-plot cluster the track with the lowest ``c_ij - miss_i``
(the first in pair order on equal values), each only when that is strictly
better than leaving the track unassigned; larger clusters take the solution
that the shortest augmenting path solver (:func:`lsap`, the method and
visiting order of SciPy's ``linear_sum_assignment``) finds on the augmented
matrix over the numbering above; :func:`sparse_lsap` returns exactly that
solution without forming the matrix.
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
def _augment(sink, current_row, path, row4col, row_to_col):
    """Flip the assigned / free pairs along the path from ``current_row`` to the free column ``sink``."""
    c = sink
    while True:
        r = path[c]
        row4col[c] = r
        previous = row_to_col[r]
        row_to_col[r] = c
        c = previous
        if r == current_row:
            break


@njit(inline="always")
def _reset_duals(n, m, u, v, row_to_col, path, row4col):
    """Zero duals and clear the assignment before a shortest-path solve."""
    for r in range(n):
        u[r] = 0.0
        row_to_col[r] = -1
    for c in range(m):
        v[c] = 0.0
        path[c] = -1
        row4col[c] = -1


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
    _reset_duals(n, m, u, v, row_to_col, path, row4col)
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
        _augment(sink, current_row, path, row4col, row_to_col)
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
# The same method on a sparse matrix (the gated pairs of a large cluster)
# ---------------------------------------------------------------------------
#
# A cluster of the GNN is sparse: a track gates a handful of plots, and its
# augmented row holds those plus its own missed-detection column.  The dense
# solver above spends O(m) per Dijkstra step on the BIG_COST entries; the
# sparse one below visits only a row's finite entries and keeps the frontier
# in a binary heap, so a search costs O(E log E) in the entries it reaches.
#
# It returns exactly what ``lsap`` returns on the dense matrix with BIG_COST
# for the missing entries, whenever a complete assignment of finite cost
# exists (always, for an augmented GNN matrix): a BIG_COST entry is never
# the shortest (the search stops at a finite free column first), every
# reduced cost is the same floating-point expression, and the dense
# solver's choice among equal shortest columns is reproduced, which depends
# on the order of its ``remaining`` list.  That list starts as
# ``m-1, m-2, ..., 0`` and a visited column is replaced by the list's last
# entry; the sparse search keeps the positions it changed (``pos_of``,
# ``col_at``, valid where their stamp is the search's) and takes every other
# position as the initial one.  Among equal shortest columns the dense scan
# keeps the first, unless a free column is among them: then the last free.

@njit
def _heap_push(heap_key, heap_col, size, key, col):
    """Push ``(key, col)`` on a binary min-heap of ``size`` entries; returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap_key[parent] <= key:
            break
        heap_key[i] = heap_key[parent]
        heap_col[i] = heap_col[parent]
        i = parent
    heap_key[i] = key
    heap_col[i] = col
    return size + 1


@njit
def _heap_pop(heap_key, heap_col, size):
    """Remove the top of a binary min-heap of ``size`` entries; returns the new size."""
    size -= 1
    key = heap_key[size]
    col = heap_col[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap_key[child + 1] < heap_key[child]:
            child += 1
        if heap_key[child] >= key:
            break
        heap_key[i] = heap_key[child]
        heap_col[i] = heap_col[child]
        i = child
    heap_key[i] = key
    heap_col[i] = col
    return size


@njit
def _position(c, m, pos_of, pos_stamp, sid):
    """Position of unvisited column ``c`` in the dense solver's ``remaining`` list."""
    if pos_stamp[c] == sid:
        return pos_of[c]
    return m - 1 - c


@njit
def _sparse_augmenting_path(i, m, row_start, row_end, adj_col, adj_cost, u, v,
                            path, row4col, shortest, reached, visited, pos_of,
                            pos_stamp, col_at, at_stamp, heap_key, heap_col, tied,
                            visited_rows, visited_cols, sid):
    """:func:`_augmenting_path` over the finite entries of rows in CSR form.

    A column's ``shortest`` and ``path`` are valid where ``reached == sid``,
    it is visited where ``visited == sid``.  Returns ``(sink, length,
    n_visited_rows, n_visited_columns)``; sink is -1 when no free column can
    be reached.
    """
    n_remaining = m
    size = np.int64(0)  # not a literal 0: _heap_push/_heap_pop would compile twice
    n_rows = 0
    n_cols = 0
    path_length = 0.0
    while True:
        visited_rows[n_rows] = i
        n_rows += 1
        for e in range(row_start[i], row_end[i]):
            j = adj_col[e]
            if visited[j] == sid:
                continue
            reduced = path_length + adj_cost[e] - u[i] - v[j]
            if reached[j] != sid or reduced < shortest[j]:
                reached[j] = sid
                path[j] = i
                shortest[j] = reduced
                size = _heap_push(heap_key, heap_col, size, reduced, j)
        # the lowest live entry (stale ones: visited, or superseded by a lower key)
        while size > 0 and (visited[heap_col[0]] == sid or heap_key[0] != shortest[heap_col[0]]):
            size = _heap_pop(heap_key, heap_col, size)
        if size == 0:
            return -1, path_length, n_rows, n_cols
        lowest = heap_key[0]
        best = heap_col[0]
        size = _heap_pop(heap_key, heap_col, size)
        # every other live column at the same distance, to choose as the dense scan does
        n_tied = 0
        while size > 0:
            c = heap_col[0]
            if visited[c] == sid or heap_key[0] != shortest[c]:
                size = _heap_pop(heap_key, heap_col, size)
                continue
            if heap_key[0] != lowest:
                break
            tied[n_tied] = c
            n_tied += 1
            size = _heap_pop(heap_key, heap_col, size)
        if n_tied > 0:
            best_position = _position(best, m, pos_of, pos_stamp, sid)
            best_free = row4col[best] == -1
            for t in range(n_tied):
                c = tied[t]
                position = _position(c, m, pos_of, pos_stamp, sid)
                free = row4col[c] == -1
                if (free and (not best_free or position > best_position)) or (
                        not free and not best_free and position < best_position):
                    tied[t] = best
                    best = c
                    best_position = position
                    best_free = free
            for t in range(n_tied):
                size = _heap_push(heap_key, heap_col, size, lowest, tied[t])
        path_length = lowest
        # take `best` out of the remaining list: the last entry moves into its place
        index = _position(best, m, pos_of, pos_stamp, sid)
        n_remaining -= 1
        last = col_at[n_remaining] if at_stamp[n_remaining] == sid else m - 1 - n_remaining
        col_at[index] = last
        at_stamp[index] = sid
        pos_of[last] = index
        pos_stamp[last] = sid
        visited[best] = sid
        visited_cols[n_cols] = best
        n_cols += 1
        if row4col[best] == -1:
            return best, path_length, n_rows, n_cols
        i = row4col[best]


@njit
def _sparse_scratch(n_rows, n_columns, n_entries):
    """Scratch of :func:`_sparse_lsap_core` and :func:`_rows_of_entries` for
    problems up to this size, allocated once and shared by all clusters."""
    return (np.empty(n_rows + 1, np.int64), np.empty(n_rows, np.int64),      # row_start, row_end
            np.empty(n_entries, np.int64), np.empty(n_entries),             # adj_col, adj_cost
            np.empty(n_rows), np.empty(n_rows, np.int64),                    # u, visited_rows
            np.empty(n_columns), np.empty(n_columns), np.empty(n_columns, np.int64),  # v, shortest, path
            np.empty(n_columns, np.int64), np.empty(n_columns, np.int64),   # row4col, visited_cols
            np.empty(n_columns, np.int64), np.empty(n_columns, np.int64),   # pos_of, col_at
            np.empty(n_columns, np.int64), np.empty(n_columns, np.int64),   # tied, slot_of_col
            np.zeros(n_columns, np.int64), np.zeros(n_columns, np.int64),   # stamps: reached, visited
            np.zeros(n_columns, np.int64), np.zeros(n_columns, np.int64),   # pos_stamp, at_stamp
            np.zeros(n_columns, np.int64),                                   # owner
            np.empty(n_entries), np.empty(n_entries, np.int64),             # heap_key, heap_col
            np.zeros(1, np.int64))                                           # stamp


@njit
def _sparse_lsap_core(n, m, row_to_col, scratch):
    """Worker of :func:`sparse_lsap` on the rows that :func:`_rows_of_entries`
    put into ``scratch`` (a :func:`_sparse_scratch` at least this large).

    Rows ``0 .. n-1`` with entries ``adj_col[row_start[r]:row_end[r]]`` (no
    column twice in a row) among ``m`` columns.  The stamp arrays
    (``reached``, ``visited``, ``pos_stamp``, ``at_stamp``) hold no value
    above ``stamp[0]``, which counts the searches and is advanced here.
    Returns 0, or -1 if no complete assignment exists.
    """
    (row_start, row_end, adj_col, adj_cost, u, visited_rows, v, shortest, path,
     row4col, visited_cols, pos_of, col_at, tied, _, reached, visited, pos_stamp,
     at_stamp, _, heap_key, heap_col, stamp) = scratch
    _reset_duals(n, m, u, v, row_to_col, path, row4col)
    for current_row in range(n):
        stamp[0] += 1
        sid = stamp[0]
        sink, path_length, n_rows, n_cols = _sparse_augmenting_path(
            current_row, m, row_start, row_end, adj_col, adj_cost, u, v, path,
            row4col, shortest, reached, visited, pos_of, pos_stamp, col_at,
            at_stamp, heap_key, heap_col, tied, visited_rows, visited_cols, sid)
        if sink < 0:
            return -1
        # the dual update of _lsap_core, over the visited rows and columns only
        u[current_row] += path_length
        for q in range(n_rows):
            r = visited_rows[q]
            if r != current_row:
                u[r] += path_length - shortest[row_to_col[r]]
        for q in range(n_cols):
            c = visited_cols[q]
            v[c] -= path_length - shortest[c]
        _augment(sink, current_row, path, row4col, row_to_col)
    return 0


@njit
def _rows_of_entries(n, entry_row, entry_col, entry_cost, scratch):
    """Sort entries into the rows (CSR) of ``scratch``, keeping the lowest
    cost of a repeated (row, column); ``owner`` holds no value above
    ``stamp[0]`` (advanced here, once per row)."""
    row_start, row_end, adj_col, adj_cost = scratch[0], scratch[1], scratch[2], scratch[3]
    slot_of_col, owner, stamp = scratch[14], scratch[19], scratch[22]
    k = entry_row.shape[0]
    for r in range(n + 1):
        row_start[r] = 0
    for e in range(k):
        row_start[entry_row[e] + 1] += 1
    for r in range(n):
        row_start[r + 1] += row_start[r]
        row_end[r] = row_start[r]
    for e in range(k):
        r = entry_row[e]
        adj_col[row_end[r]] = entry_col[e]
        adj_cost[row_end[r]] = entry_cost[e]
        row_end[r] += 1
    for r in range(n):
        stamp[0] += 1
        end = row_start[r]
        for e in range(row_start[r], row_end[r]):
            c = adj_col[e]
            if owner[c] == stamp[0]:
                if adj_cost[e] < adj_cost[slot_of_col[c]]:
                    adj_cost[slot_of_col[c]] = adj_cost[e]
                continue
            owner[c] = stamp[0]
            slot_of_col[c] = end
            adj_col[end] = c
            adj_cost[end] = adj_cost[e]
            end += 1
        row_end[r] = end


@njit
def sparse_lsap(n, m, entry_row, entry_col, entry_cost, row_to_col):
    """:func:`lsap` on a sparse matrix: only the listed entries are allowed.

    Minimises ``sum_r cost[r, row_to_col[r]]`` over injective maps of the n
    rows into the m columns that use listed entries only (a repeated entry
    counts at its lowest cost).  Same method, visiting order and tie rule as
    :func:`lsap`: where a complete assignment exists, the result equals
    ``lsap`` on the dense matrix holding :data:`BIG_COST` at the unlisted
    entries.

    Parameters
    ----------
    n, m : int
        Rows and columns, ``n <= m``.
    entry_row, entry_col : ndarray, shape (k,), int64
        Row and column of each allowed entry.
    entry_cost : ndarray, shape (k,), float64
        Its cost, ``abs(cost) < MAX_ABS_COST``.
    row_to_col : ndarray, shape (n,), int64
        Output: the column of each row (-1 throughout if infeasible).

    Returns
    -------
    status : int
        0, or -1 if no complete assignment of listed entries exists.

    Raises
    ------
    ValueError
        On mismatched lengths, an index out of range, ``n > m`` or a bad cost.
    """
    k = entry_row.shape[0]
    if entry_col.shape[0] != k or entry_cost.shape[0] != k:
        raise ValueError("sparse_lsap: entry_row, entry_col and entry_cost must have the same length")
    if n > m:
        raise ValueError("sparse_lsap: no more rows than columns (transpose it)")
    if row_to_col.shape[0] != n:
        raise ValueError("sparse_lsap: row_to_col must have one entry per row")
    for e in range(k):
        if entry_row[e] < 0 or entry_row[e] >= n or entry_col[e] < 0 or entry_col[e] >= m:
            raise ValueError("sparse_lsap: entry out of range")
        if not (abs(entry_cost[e]) < MAX_ABS_COST):
            raise ValueError("sparse_lsap: cost must be finite with abs(cost) < MAX_ABS_COST")
    scratch = _sparse_scratch(n, m, k)
    _rows_of_entries(n, entry_row, entry_col, entry_cost, scratch)
    status = _sparse_lsap_core(n, m, row_to_col, scratch)
    if status < 0:
        row_to_col[:] = -1
    return status


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
                   tracks, plots, local_track, local_plot, entry_row, entry_col,
                   entry_cost, row_to_col, scratch, plot_of_track, track_of_plot):
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
    # Augmented matrix [C | D], n_t x (n_p + n_t): C[r, c] the pair cost
    # (lowest of duplicates), D[r, r] the miss of track r; every other entry
    # is forbidden (BIG_COST in the dense form), so only the pairs and the
    # diagonal of D are listed.  Every row has a finite entry of its own in
    # D, so a complete assignment always exists.
    n_pairs = pairs.shape[0]
    for q in range(n_pairs):
        p = pairs[q]
        entry_row[q] = local_track[pair_track[p]]
        entry_col[q] = local_plot[pair_plot[p]]
        entry_cost[q] = pair_cost[p]
    for r in range(n_t):
        entry_row[n_pairs + r] = r
        entry_col[n_pairs + r] = n_p + r
        entry_cost[n_pairs + r] = miss_cost[tracks[r]]
    n_entries = n_pairs + n_t
    _rows_of_entries(n_t, entry_row[:n_entries], entry_col[:n_entries],
                     entry_cost[:n_entries], scratch)
    _sparse_lsap_core(n_t, n_p + n_t, row_to_col, scratch)
    n_assigned = 0
    for r in range(n_t):
        c = row_to_col[r]
        if c < n_p:
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
    * otherwise the solution of :func:`lsap` on the ``n_t x (n_p + n_t)``
      augmented matrix ``[C | D]``, ``C[r, c] = c_ij`` (or ``BIG_COST`` if
      not gated), ``D = diag(miss)`` with ``BIG_COST`` off the diagonal,
      found by :func:`sparse_lsap` on its finite entries; a row assigned to
      a ``D`` column is unassigned.

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
    # np.int64, not literal 0s: _sparse_scratch would compile twice
    max_rows = np.int64(0)
    max_columns = np.int64(0)
    max_entries = np.int64(0)
    for cl in range(n_clusters):
        pair_start[cl + 1] = pair_start[cl] + n_pairs_of[cl]
        track_start[cl + 1] = track_start[cl] + n_tracks_of[cl]
        plot_start[cl + 1] = plot_start[cl] + n_plots_of[cl]
        if n_tracks_of[cl] > 1 and n_plots_of[cl] > 1:
            max_rows = max(max_rows, n_tracks_of[cl])
            max_columns = max(max_columns, n_plots_of[cl] + n_tracks_of[cl])
            max_entries = max(max_entries, n_pairs_of[cl] + n_tracks_of[cl])
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

    # Scratch for the largest assignment problem, shared by all clusters.
    entry_row = np.empty(max_entries, dtype=np.int64)
    entry_col = np.empty(max_entries, dtype=np.int64)
    entry_cost = np.empty(max_entries)
    row_to_col = np.empty(max_rows, dtype=np.int64)
    scratch = _sparse_scratch(max_rows, max_columns, max_entries)

    n_assigned = 0
    for cl in range(n_clusters):
        n_assigned += _solve_cluster(
            pairs_sorted[pair_start[cl]:pair_start[cl + 1]],
            pair_track, pair_plot, pair_cost, miss_cost,
            tracks_sorted[track_start[cl]:track_start[cl + 1]],
            plots_sorted[plot_start[cl]:plot_start[cl + 1]],
            local_track, local_plot, entry_row, entry_col, entry_cost,
            row_to_col, scratch, plot_of_track, track_of_plot)
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
