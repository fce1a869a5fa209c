"""Association kernels against SciPy, brute force and breadth-first search."""
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
import scipy.sparse.csgraph
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from kernels.assign import (
    BIG_COST, gnn_assign, linear_sum_assignment, lsap, pair_clusters, solve_gnn, sparse_lsap)
from naive_assign import (
    augmented_matrix, brute_force_gnn, clustered_gnn, connected_components_bfs, gnn_objective)

SETTINGS = settings(max_examples=150, deadline=None)
MATRIX_SETTINGS = settings(max_examples=100, deadline=None)


# ---------------------------------------------------------------------------
# lsap
# ---------------------------------------------------------------------------

@st.composite
def cost_matrices(draw, max_rows=12, max_columns=20, allow_big=True):
    """(n, m) matrices, n <= m, with ties, negative costs and BIG entries."""
    n = draw(st.integers(0, max_rows))
    m = draw(st.integers(max(n, 1), max_columns))
    value = st.one_of(
        st.integers(-5, 5).map(float),                 # many ties
        st.floats(-1e3, 1e3, allow_nan=False),
        *([st.just(BIG_COST)] if allow_big else []))
    return draw(hnp.arrays(np.float64, (n, m), elements=value))


def check_permutation(row_to_col, n, m):
    assert row_to_col.shape == (n,)
    assert np.all((row_to_col >= 0) & (row_to_col < m))
    assert len(np.unique(row_to_col)) == n


@MATRIX_SETTINGS
@given(cost_matrices())
def test_lsap_matches_scipy_total(cost):
    n, m = cost.shape
    row_to_col = np.full(n, -7, dtype=np.int64)
    total = lsap(cost, row_to_col)
    check_permutation(row_to_col, n, m)
    assert total == pytest.approx(cost[np.arange(n), row_to_col].sum(), rel=1e-15, abs=0.0)

    rows, columns = scipy.optimize.linear_sum_assignment(cost)
    reference = cost[rows, columns]
    ours = cost[np.arange(n), row_to_col]
    # Forbidden entries dominate: the same number must be unavoidable ...
    assert np.count_nonzero(ours == BIG_COST) == np.count_nonzero(reference == BIG_COST)
    # ... and the allowed part must be optimal too.
    small = np.abs(cost[cost < BIG_COST]).sum()
    if np.all(reference < BIG_COST):
        assert ours.sum() == pytest.approx(reference.sum(), abs=1e-9 * (1.0 + small))
    else:
        assert ours.sum() == pytest.approx(reference.sum(), rel=1e-12)


@MATRIX_SETTINGS
@given(cost_matrices(allow_big=False))
def test_lsap_exact_on_finite_costs(cost):
    n, m = cost.shape
    row_to_col = np.empty(n, dtype=np.int64)
    total = lsap(cost, row_to_col)
    check_permutation(row_to_col, n, m)
    rows, columns = scipy.optimize.linear_sum_assignment(cost)
    scale = 1.0 + np.abs(cost).sum()
    assert total == pytest.approx(cost[rows, columns].sum(), abs=1e-12 * scale)


@MATRIX_SETTINGS
@given(st.integers(0, 12).flatmap(
    lambda n: st.integers(max(n, 1), 20).flatmap(
        lambda m: hnp.arrays(np.float64, (n, m), elements=st.integers(-3, 3).map(float)))))
def test_lsap_breaks_ties_like_scipy(cost):
    # Same algorithm and visiting order as SciPy: exact integer costs give
    # the same assignment, not only the same total.
    row_to_col = np.empty(cost.shape[0], dtype=np.int64)
    lsap(cost, row_to_col)
    _, columns = scipy.optimize.linear_sum_assignment(cost)
    np.testing.assert_array_equal(row_to_col, columns)


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (1, 1), (7, 3), (3, 7), (12, 20), (20, 12)])
def test_linear_sum_assignment_wrapper_any_orientation(shape):
    rng = np.random.default_rng(sum(shape))
    cost = rng.normal(size=shape) * 100.0
    rows, columns, total = linear_sum_assignment(cost)
    reference_rows, reference_columns = scipy.optimize.linear_sum_assignment(cost)
    assert len(rows) == len(reference_rows) == min(shape)
    assert np.all(np.diff(rows) > 0)
    assert len(np.unique(columns)) == len(columns)
    assert total == pytest.approx(cost[reference_rows, reference_columns].sum(), abs=1e-9)
    assert total == pytest.approx(cost[rows, columns].sum(), abs=1e-9)


def test_lsap_rejects_bad_input():
    with pytest.raises(ValueError, match="no more rows than columns"):
        lsap(np.zeros((3, 2)), np.empty(3, dtype=np.int64))
    with pytest.raises(ValueError, match="one entry per row"):
        lsap(np.zeros((2, 3)), np.empty(3, dtype=np.int64))
    with pytest.raises(ValueError, match="finite"):
        lsap(np.array([[0.0, np.inf]]), np.empty(1, dtype=np.int64))
    with pytest.raises(ValueError, match="finite"):
        lsap(np.array([[np.nan, 1.0]]), np.empty(1, dtype=np.int64))
    with pytest.raises(ValueError, match="two-dimensional"):
        linear_sum_assignment(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        linear_sum_assignment(np.array([[1.0, np.inf]]))


# ---------------------------------------------------------------------------
# sparse_lsap: the dense solver's answer from the listed entries only
# ---------------------------------------------------------------------------

@st.composite
def sparse_matrices(draw, max_rows=10, max_columns=16):
    """(n, m, entries, costs): some entries listed (repeats allowed), integer or real costs."""
    n = draw(st.integers(0, max_rows))
    m = draw(st.integers(max(n, 1), max_columns))
    k = draw(st.integers(0, 3 * max_rows))
    entry_row = draw(hnp.arrays(np.int64, k, elements=st.integers(0, max(n - 1, 0)))) if n else np.empty(0, np.int64)
    entry_col = draw(hnp.arrays(np.int64, entry_row.size, elements=st.integers(0, m - 1)))
    value = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e3, 1e3, allow_nan=False))
    entry_cost = draw(hnp.arrays(np.float64, entry_row.size, elements=value))
    return n, m, entry_row, entry_col, entry_cost


def dense_of(n, m, entry_row, entry_col, entry_cost):
    dense = np.full((n, m), BIG_COST)
    for r, c, x in zip(entry_row.tolist(), entry_col.tolist(), entry_cost.tolist()):
        dense[r, c] = min(dense[r, c], x)
    return dense


@MATRIX_SETTINGS
@given(sparse_matrices())
def test_sparse_lsap_equals_dense_lsap(problem):
    # Same assignment as the dense solver on the BIG_COST-filled matrix (ties
    # included), and -1 exactly when the dense one must use a forbidden entry.
    n, m, entry_row, entry_col, entry_cost = problem
    dense = dense_of(*problem)
    expected = np.empty(n, dtype=np.int64)
    lsap(dense, expected)
    feasible = bool(np.all(dense[np.arange(n), expected] < BIG_COST))
    row_to_col = np.full(n, -7, dtype=np.int64)
    status = sparse_lsap(n, m, entry_row, entry_col, entry_cost, row_to_col)
    assert status == (0 if feasible else -1)
    if feasible:
        np.testing.assert_array_equal(row_to_col, expected)
        rows, columns = scipy.optimize.linear_sum_assignment(dense)
        assert dense[np.arange(n), row_to_col].sum() == pytest.approx(
            dense[rows, columns].sum(), abs=1e-9 * (1.0 + np.abs(entry_cost).sum()))
    else:
        assert np.all(row_to_col == -1)


def test_sparse_lsap_rejects_bad_input():
    one = np.zeros(1, np.int64)
    with pytest.raises(ValueError, match="out of range"):
        sparse_lsap(1, 2, one, np.array([2]), np.zeros(1), np.empty(1, np.int64))
    with pytest.raises(ValueError, match="no more rows"):
        sparse_lsap(2, 1, one, one, np.zeros(1), np.empty(2, np.int64))
    with pytest.raises(ValueError, match="finite"):
        sparse_lsap(1, 1, one, one, np.array([np.nan]), np.empty(1, np.int64))
    with pytest.raises(ValueError, match="same length"):
        sparse_lsap(1, 1, one, np.zeros(2, np.int64), np.zeros(1), np.empty(1, np.int64))


# ---------------------------------------------------------------------------
# pair_clusters
# ---------------------------------------------------------------------------

@st.composite
def pair_graphs(draw):
    n_tracks = draw(st.integers(1, 15))
    n_plots = draw(st.integers(1, 15))
    k = draw(st.integers(0, 40))
    pair_track = draw(hnp.arrays(np.int64, k, elements=st.integers(0, n_tracks - 1)))
    pair_plot = draw(hnp.arrays(np.int64, k, elements=st.integers(0, n_plots - 1)))
    return n_tracks, n_plots, pair_track, pair_plot


@SETTINGS
@given(pair_graphs())
def test_pair_clusters_match_bfs_and_scipy(graph):
    n_tracks, n_plots, pair_track, pair_plot = graph
    k = len(pair_track)
    cluster_of_pair = np.full(k, -7, dtype=np.int64)
    n_clusters = pair_clusters(n_tracks, n_plots, pair_track, pair_plot, cluster_of_pair)

    # Exact labels, numbered by first appearance.
    np.testing.assert_array_equal(
        cluster_of_pair, connected_components_bfs(n_tracks, n_plots, pair_track, pair_plot))
    assert n_clusters == (cluster_of_pair.max() + 1 if k else 0)

    # Same partition as SciPy's connected components of the bipartite graph.
    adjacency = scipy.sparse.coo_matrix(
        (np.ones(k), (pair_track, n_tracks + pair_plot)),
        shape=(n_tracks + n_plots, n_tracks + n_plots))
    _, component = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    scipy_label = component[pair_track]
    for a in range(k):
        for b in range(k):
            assert (cluster_of_pair[a] == cluster_of_pair[b]) == (scipy_label[a] == scipy_label[b])


def test_pair_clusters_rejects_bad_indices():
    out = np.empty(1, dtype=np.int64)
    with pytest.raises(ValueError, match="pair_track out of range"):
        pair_clusters(2, 2, np.array([2]), np.array([0]), out)
    with pytest.raises(ValueError, match="pair_plot out of range"):
        pair_clusters(2, 2, np.array([0]), np.array([-1]), out)
    with pytest.raises(ValueError, match="same length"):
        pair_clusters(2, 2, np.array([0, 1]), np.array([0]), out)


# ---------------------------------------------------------------------------
# gnn_assign
# ---------------------------------------------------------------------------

def run_gnn(n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost):
    plot_of_track = np.full(n_tracks, -7, dtype=np.int64)
    track_of_plot = np.full(n_plots, -7, dtype=np.int64)
    n_assigned = gnn_assign(n_tracks, n_plots, pair_track, pair_plot, pair_cost,
                            miss_cost, plot_of_track, track_of_plot)
    return plot_of_track, track_of_plot, n_assigned


def check_assignment(n_tracks, n_plots, pair_track, pair_plot, plot_of_track,
                     track_of_plot, n_assigned):
    """Properties every GNN output must have."""
    gated = set(zip(pair_track.tolist(), pair_plot.tolist()))
    assert plot_of_track.shape == (n_tracks,) and track_of_plot.shape == (n_plots,)
    assert np.all(plot_of_track >= -1) and np.all(track_of_plot >= -1)
    assigned = [(i, int(j)) for i, j in enumerate(plot_of_track) if j >= 0]
    assert all(pair in gated for pair in assigned)
    plots_used = [j for _, j in assigned]
    assert len(plots_used) == len(set(plots_used))
    assert n_assigned == len(assigned) <= min(n_tracks, n_plots)
    for j in range(n_plots):
        i = track_of_plot[j]
        assert (i == -1 and j not in plots_used) or plot_of_track[i] == j


@st.composite
def small_problems(draw):
    """Up to 5 paired tracks x 5 plots; spare track slots have NaN miss costs."""
    n_tracks = draw(st.integers(1, 7))
    n_plots = draw(st.integers(1, 6))
    paired_tracks = min(n_tracks, 5)
    paired_plots = min(n_plots, 5)
    k = draw(st.integers(0, 14))
    pair_track = draw(hnp.arrays(np.int64, k, elements=st.integers(0, paired_tracks - 1)))
    pair_plot = draw(hnp.arrays(np.int64, k, elements=st.integers(0, paired_plots - 1)))
    cost = st.one_of(st.integers(-4, 6).map(float), st.floats(-20.0, 20.0))
    pair_cost = draw(hnp.arrays(np.float64, k, elements=cost))
    miss = draw(hnp.arrays(np.float64, n_tracks, elements=cost))
    miss_cost = np.full(n_tracks, np.nan)
    paired = np.unique(pair_track)
    miss_cost[paired] = miss[paired]     # unpaired slots must never be read
    return n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost


@SETTINGS
@given(small_problems())
def test_gnn_matches_brute_force(problem):
    n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost = problem
    plot_of_track, track_of_plot, n_assigned = run_gnn(*problem)
    check_assignment(n_tracks, n_plots, pair_track, pair_plot, plot_of_track,
                     track_of_plot, n_assigned)
    objective = gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, plot_of_track)
    reference = brute_force_gnn(pair_track, pair_plot, pair_cost, miss_cost)
    assert objective == pytest.approx(reference, abs=1e-9)

    # Deterministic, and the wrapper gives the same answer.
    again = run_gnn(*problem)
    np.testing.assert_array_equal(again[0], plot_of_track)
    wrapped = solve_gnn(*problem)
    np.testing.assert_array_equal(wrapped[0], plot_of_track)
    np.testing.assert_array_equal(wrapped[1], track_of_plot)
    assert wrapped[2] == n_assigned


@SETTINGS
@given(small_problems(), st.randoms(use_true_random=False))
def test_gnn_objective_independent_of_pair_order(problem, random):
    n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost = problem
    order = list(range(len(pair_track)))
    random.shuffle(order)
    order = np.array(order, dtype=np.int64)
    shuffled = (n_tracks, n_plots, pair_track[order], pair_plot[order], pair_cost[order], miss_cost)
    first = gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, run_gnn(*problem)[0])
    second = gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, run_gnn(*shuffled)[0])
    assert first == pytest.approx(second, abs=1e-9)


def local_problem(seed, n_tracks=60, n_plots=80, gate_m=60.0, box_m=1000.0):
    """Tracks and plots scattered in a box; pairs within a distance gate."""
    rng = np.random.default_rng(seed)
    tracks = rng.uniform(0.0, box_m, size=(n_tracks, 2))
    plots = np.concatenate([
        tracks[rng.permutation(n_tracks)[: n_plots // 2]] + rng.normal(0.0, 15.0, (n_plots // 2, 2)),
        rng.uniform(0.0, box_m, size=(n_plots - n_plots // 2, 2)),
    ])[rng.permutation(n_plots)]
    distance = np.linalg.norm(tracks[:, None, :] - plots[None, :, :], axis=2)
    pair_track, pair_plot = np.nonzero(distance < gate_m)
    order = rng.permutation(len(pair_track))
    pair_track = pair_track[order].astype(np.int64)
    pair_plot = pair_plot[order].astype(np.int64)
    # Negative log-likelihood ratio of a 2-D Gaussian, minus a clutter term.
    pair_cost = 0.5 * (distance[pair_track, pair_plot] / 15.0) ** 2 - rng.uniform(1.0, 4.0, len(pair_track))
    miss_cost = rng.uniform(-1.0, 3.0, n_tracks)
    # A few duplicated pairs with other costs.
    duplicate = rng.integers(0, len(pair_track), size=len(pair_track) // 10)
    pair_track = np.concatenate([pair_track, pair_track[duplicate]])
    pair_plot = np.concatenate([pair_plot, pair_plot[duplicate]])
    pair_cost = np.concatenate([pair_cost, pair_cost[duplicate] + rng.normal(0.0, 1.0, len(duplicate))])
    return n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("gate_m", [60.0, 250.0])
def test_gnn_matches_scipy_on_full_augmented_matrix(seed, gate_m):
    problem = local_problem(seed, gate_m=gate_m)
    n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost = problem
    plot_of_track, track_of_plot, n_assigned = run_gnn(*problem)
    check_assignment(n_tracks, n_plots, pair_track, pair_plot, plot_of_track,
                     track_of_plot, n_assigned)
    objective = gnn_objective(pair_track, pair_plot, pair_cost, miss_cost, plot_of_track)
    matrix = augmented_matrix(pair_track, pair_plot, pair_cost, miss_cost)
    rows, columns = scipy.optimize.linear_sum_assignment(matrix)
    reference = matrix[rows, columns]
    assert np.all(reference < BIG_COST)
    assert objective == pytest.approx(reference.sum(), abs=1e-9 * (1.0 + np.abs(pair_cost).sum()))
    # Paired tracks outside the gate of every plot contribute nothing else.
    assert n_assigned == np.count_nonzero(columns < matrix.shape[1] - matrix.shape[0])


@st.composite
def sparse_gnn_problems(draw):
    """Tracks and plots on a line, pairs within a gate: chains and clumps of
    clusters, contested plots (rows left to their miss), repeated pairs, ties."""
    n_tracks = draw(st.integers(1, 30))
    n_plots = draw(st.integers(1, 30))
    gate = draw(st.integers(0, 4))
    track_at = draw(hnp.arrays(np.int64, n_tracks, elements=st.integers(0, 40)))
    plot_at = draw(hnp.arrays(np.int64, n_plots, elements=st.integers(0, 40)))
    pair_track, pair_plot = np.nonzero(np.abs(track_at[:, None] - plot_at[None, :]) <= gate)
    order = draw(st.permutations(range(pair_track.size)))
    pair_track = pair_track[list(order)].astype(np.int64)
    pair_plot = pair_plot[list(order)].astype(np.int64)
    repeat = draw(st.integers(0, pair_track.size // 4))
    pair_track = np.concatenate([pair_track, pair_track[:repeat]])
    pair_plot = np.concatenate([pair_plot, pair_plot[:repeat]])
    cost = st.one_of(st.integers(-4, 6).map(float), st.floats(-20.0, 20.0))
    pair_cost = draw(hnp.arrays(np.float64, pair_track.size, elements=cost))
    miss_cost = draw(hnp.arrays(np.float64, n_tracks, elements=cost))
    return n_tracks, n_plots, pair_track, pair_plot, pair_cost, miss_cost


@SETTINGS
@given(sparse_gnn_problems())
def test_gnn_equals_scipy_cluster_by_cluster(problem):
    # The tie rule of the module docstring, written out with SciPy's dense
    # solver per cluster: the same assignment, not only the same objective.
    plot_of_track, track_of_plot, _ = run_gnn(*problem)
    expected_plot_of_track, expected_track_of_plot = clustered_gnn(
        *problem, solve=scipy.optimize.linear_sum_assignment)
    np.testing.assert_array_equal(plot_of_track, expected_plot_of_track)
    np.testing.assert_array_equal(track_of_plot, expected_track_of_plot)


@pytest.mark.parametrize("seed", range(4))
def test_gnn_equals_scipy_on_large_clusters(seed):
    # Clusters of hundreds of tracks (a dense picture), where the solver no
    # longer builds the dense matrix: the same assignment as SciPy on it.
    problem = local_problem(seed, n_tracks=400, n_plots=500, gate_m=120.0, box_m=1500.0)
    plot_of_track, track_of_plot, _ = run_gnn(*problem)
    labels = connected_components_bfs(*problem[:4])
    assert np.bincount(labels).max() > 1000          # a large cluster is there
    expected = clustered_gnn(*problem, solve=scipy.optimize.linear_sum_assignment)
    np.testing.assert_array_equal(plot_of_track, expected[0])
    np.testing.assert_array_equal(track_of_plot, expected[1])


def test_gnn_fast_path_rules():
    nan = np.nan
    # 1 x 1: assigned only when strictly better than a miss.
    for cost, miss, expected in [(1.0, 2.0, 0), (2.0, 2.0, -1), (-3.0, -4.0, -1)]:
        plot_of_track, _, _ = run_gnn(2, 1, np.array([1]), np.array([0]),
                                      np.array([cost]), np.array([nan, miss]))
        assert plot_of_track[1] == expected and plot_of_track[0] == -1
    # 1 track x many plots, equal costs: the first in pair order.
    plot_of_track, track_of_plot, _ = run_gnn(
        1, 4, np.array([0, 0, 0]), np.array([3, 1, 2]), np.array([5.0, 1.0, 1.0]), np.array([2.0]))
    assert plot_of_track[0] == 1 and track_of_plot[1] == 0
    # Many tracks x 1 plot: lowest cost - miss, first in pair order on ties.
    plot_of_track, track_of_plot, _ = run_gnn(
        3, 1, np.array([2, 0, 1]), np.array([0, 0, 0]), np.array([1.0, 0.0, 3.0]),
        np.array([1.0, 2.0, 3.0]))
    assert track_of_plot[0] == 2 and plot_of_track.tolist() == [-1, -1, 0]
    # ... and only when strictly better than the misses.
    plot_of_track, track_of_plot, n_assigned = run_gnn(
        2, 1, np.array([0, 1]), np.array([0, 0]), np.array([1.0, 3.0]), np.array([1.0, 3.0]))
    assert n_assigned == 0 and track_of_plot[0] == -1
    # Duplicate pair: the lowest cost counts.
    plot_of_track, _, _ = run_gnn(1, 1, np.array([0, 0]), np.array([0, 0]),
                                  np.array([5.0, 1.0]), np.array([2.0]))
    assert plot_of_track[0] == 0


def test_gnn_empty_and_errors():
    plot_of_track, track_of_plot, n_assigned = run_gnn(
        3, 2, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.full(3, np.nan))
    assert n_assigned == 0 and np.all(plot_of_track == -1) and np.all(track_of_plot == -1)

    one = np.array([0])
    with pytest.raises(ValueError, match="pair_plot out of range"):
        run_gnn(1, 1, one, np.array([1]), np.array([0.0]), np.zeros(1))
    with pytest.raises(ValueError, match="pair_cost must be finite"):
        run_gnn(1, 1, one, one, np.array([np.inf]), np.zeros(1))
    with pytest.raises(ValueError, match="miss_cost of a paired track"):
        run_gnn(1, 1, one, one, np.array([0.0]), np.array([np.nan]))
    with pytest.raises(ValueError, match="n_tracks entries"):
        run_gnn(2, 1, one, one, np.array([0.0]), np.zeros(1))

    with pytest.raises(ValueError, match=r"pair_track must lie in \[0, n_tracks=2\), got values in \[0, 5\]"):
        solve_gnn(2, 1, [0, 5], [0, 0], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(TypeError, match="pair_plot must hold integers"):
        solve_gnn(2, 1, [0], [0.5], [0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        solve_gnn(2, 1, [0, 1], [0, 0], [0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="track 1 has nan"):
        solve_gnn(2, 1, [0, 1], [0, 0], [0.0, 0.0], [0.0, np.nan])
