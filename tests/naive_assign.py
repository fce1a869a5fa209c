"""Slow references for the association kernels (kernels/assign.py).

Plain Python, written for reading, not speed: exhaustive enumeration of
assignments, breadth-first connected components, and the full (not
clustered) augmented matrix for SciPy.
"""
from collections import deque

import numpy as np

BIG_COST = 1e18


def lowest_pair_costs(pair_track, pair_plot, pair_cost):
    """``{(track, plot): lowest cost}`` over possibly duplicated pairs."""
    best = {}
    for i, j, c in zip(pair_track.tolist(), pair_plot.tolist(), pair_cost.tolist()):
        if (i, j) not in best or c < best[(i, j)]:
            best[(i, j)] = c
    return best


def gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, plot_of_track):
    """Objective J of an assignment; raises if it uses a pair that was not gated.

    J = sum of the (lowest) pair cost over assigned tracks + sum of miss_cost
    over paired tracks left unassigned.  Tracks without pairs do not count.
    """
    best = lowest_pair_costs(pair_track, pair_plot, pair_cost)
    paired = set(pair_track.tolist())
    total = 0.0
    for i in sorted(paired):
        j = int(plot_of_track[i])
        if j < 0:
            total += float(miss_cost[i])
        else:
            if (i, j) not in best:
                raise AssertionError(f"track {i} assigned to plot {j}, not a gated pair")
            total += best[(i, j)]
    for i in range(len(plot_of_track)):
        if i not in paired and plot_of_track[i] != -1:
            raise AssertionError(f"track {i} has no pair but is assigned")
    return total


def brute_force_gnn(pair_track, pair_plot, pair_cost, miss_cost):
    """Minimum GNN objective by enumerating every feasible assignment.

    Each paired track in turn either stays unassigned or takes one of its
    gated plots not yet used.  Exponential; for a handful of tracks only.
    """
    best = lowest_pair_costs(pair_track, pair_plot, pair_cost)
    tracks = sorted(set(pair_track.tolist()))
    options = {i: [j for (t, j) in best if t == i] for i in tracks}

    def search(position, used):
        if position == len(tracks):
            return 0.0
        i = tracks[position]
        result = float(miss_cost[i]) + search(position + 1, used)
        for j in options[i]:
            if j not in used:
                used.add(j)
                result = min(result, best[(i, j)] + search(position + 1, used))
                used.remove(j)
        return result

    return search(0, set())


def augmented_matrix(pair_track, pair_plot, pair_cost, miss_cost):
    """Full augmented matrix [C | D] over all paired tracks and plots.

    Rows: paired tracks (sorted); columns: paired plots (sorted), then one
    missed-detection column per row.  Not-allowed entries are BIG_COST.
    """
    best = lowest_pair_costs(pair_track, pair_plot, pair_cost)
    tracks = sorted(set(pair_track.tolist()))
    plots = sorted(set(pair_plot.tolist()))
    row = {i: r for r, i in enumerate(tracks)}
    column = {j: c for c, j in enumerate(plots)}
    matrix = np.full((len(tracks), len(plots) + len(tracks)), BIG_COST)
    for (i, j), c in best.items():
        matrix[row[i], column[j]] = c
    for r, i in enumerate(tracks):
        matrix[r, len(plots) + r] = miss_cost[i]
    return matrix


def connected_components_bfs(n_tracks, n_plots, pair_track, pair_plot):
    """Cluster label of each pair by breadth-first search.

    Labels are numbered in order of first appearance among the pairs.
    """
    neighbours = {}
    for i, j in zip(pair_track.tolist(), pair_plot.tolist()):
        neighbours.setdefault(("t", i), []).append(("p", j))
        neighbours.setdefault(("p", j), []).append(("t", i))
    label_of_node = {}
    labels = []
    for i in pair_track.tolist():
        start = ("t", i)
        if start not in label_of_node:
            label = len(set(label_of_node.values()))
            label_of_node[start] = label
            queue = deque([start])
            while queue:
                node = queue.popleft()
                for other in neighbours[node]:
                    if other not in label_of_node:
                        label_of_node[other] = label
                        queue.append(other)
        labels.append(label_of_node[start])
    return np.array(labels, dtype=np.int64)


def clustered_gnn(n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost, solve):
    """The GNN with the tie rule of kernels/assign.py, written out cluster by cluster.

    Clusters by :func:`connected_components_bfs`; tracks and plots of a
    cluster numbered in order of first appearance among its pairs; a
    one-track cluster takes its lowest-cost plot (first in pair order on
    equal costs) if strictly below the miss, a one-plot cluster the track
    with the lowest ``c - miss`` (first in pair order) if negative; larger
    clusters ``solve(matrix) -> (rows, columns)`` (SciPy's
    ``linear_sum_assignment``) on the dense augmented matrix [C | D] with
    BIG_COST where not allowed.  Returns ``plot_of_track, track_of_plot``.
    """
    plot_of_track = np.full(n_tracks, -1, dtype=np.int64)
    track_of_plot = np.full(n_plots, -1, dtype=np.int64)
    labels = connected_components_bfs(n_tracks, n_plots, pair_track, pair_plot)
    for label in range(int(labels.max()) + 1 if labels.size else 0):
        members = [p for p in range(len(labels)) if labels[p] == label]
        tracks, plots = [], []
        for p in members:
            if pair_track[p] not in tracks:
                tracks.append(int(pair_track[p]))
            if pair_plot[p] not in plots:
                plots.append(int(pair_plot[p]))
        if len(tracks) == 1 or len(plots) == 1:
            score = ((lambda p: pair_cost[p]) if len(tracks) == 1
                     else (lambda p: pair_cost[p] - miss_cost[pair_track[p]]))
            best = min(members, key=score)     # the first of equals
            gain = pair_cost[best] - miss_cost[pair_track[best]]
            if gain < 0.0:
                plot_of_track[pair_track[best]] = pair_plot[best]
                track_of_plot[pair_plot[best]] = pair_track[best]
            continue
        matrix = np.full((len(tracks), len(plots) + len(tracks)), BIG_COST)
        for p in members:
            r, c = tracks.index(int(pair_track[p])), plots.index(int(pair_plot[p]))
            matrix[r, c] = min(matrix[r, c], pair_cost[p])
        for r, i in enumerate(tracks):
            matrix[r, len(plots) + r] = miss_cost[i]
        rows, columns = solve(matrix)
        for r, c in zip(rows.tolist(), columns.tolist()):
            if c < len(plots):
                plot_of_track[tracks[r]] = plots[c]
                track_of_plot[plots[c]] = tracks[r]
    return plot_of_track, track_of_plot
