"""Duplicate merging (kernels.tracker.merge_close) on hand-made track tables."""
import numpy as np
import pytest

from kernels import tracker as K
from kernels._grid import horizontal_cells


def table(states, statuses, ids, sigma=5.0):
    k = len(states)
    x = np.array(states, float)
    P = np.tile(np.diag([sigma ** 2] * 3 + [1.0] * 3), (k, 1, 1))
    params = np.zeros(K.N_PARAMS)
    params[K.P_GATE_Q_H] = 1.0
    params[K.P_Q_V] = 0.25
    params[K.P_MERGE_EPOCHS] = 2
    params[K.P_MERGE_D2] = 10.0
    params[K.P_MERGE_RADIUS] = 30.0
    counters = np.zeros(K.N_COUNTERS, np.int64)
    return dict(x=x, P=P, t_state=np.zeros(k), status=np.array(statuses, np.int8),
                track_id=np.array(ids, np.int64), n_close=np.zeros(k, np.int64),
                free_stack=np.zeros(k, np.int64), counters=counters, params=params)


def merge(tab, t=0.0):
    return K.merge_close(t, tab["x"], tab["P"], tab["t_state"], tab["status"], tab["track_id"],
                         tab["n_close"], tab["free_stack"], tab["counters"], tab["params"])


def test_a_duplicate_is_dropped_after_the_run_and_the_stronger_kept():
    # slot 0: tentative, slot 1: confirmed younger, slot 2: confirmed older, slot 3 far away
    tab = table([[0, 0, 100, 10, 0, 0], [3, 1, 101, 10, 0, 0], [1, -2, 99, 10, 0, 0],
                 [5000, 0, 100, 10, 0, 0]],
                [K.TENTATIVE, K.CONFIRMED, K.CONFIRMED, K.CONFIRMED], [7, 9, 8, 1])
    assert merge(tab) == 0                       # a run of 1 < 2 epochs
    assert tab["n_close"].tolist() == [1, 1, 1, 0]
    assert merge(tab) == 2
    assert tab["status"].tolist() == [K.FREE, K.FREE, K.CONFIRMED, K.CONFIRMED]
    assert tab["counters"][K.C_MERGED] == 2 and tab["counters"][K.C_DELETED] == 2
    assert tab["n_close"].tolist() == [0, 0, 2, 0]


def test_tracks_apart_in_velocity_or_space_are_kept():
    tab = table([[0, 0, 100, 10, 0, 0], [3, 0, 100, -10, 0, 0], [40, 0, 100, 10, 0, 0]],
                [K.CONFIRMED] * 3, [1, 2, 3])
    for _ in range(4):
        assert merge(tab) == 0
    assert tab["n_close"].tolist() == [0, 0, 0]


def test_off_by_default_and_freed_slots_restart():
    tab = table([[0, 0, 100, 10, 0, 0], [1, 0, 100, 10, 0, 0]], [K.CONFIRMED] * 2, [1, 2])
    tab["params"][K.P_MERGE_EPOCHS] = 0
    assert merge(tab) == 0 and tab["n_close"].tolist() == [0, 0]
    tab["params"][K.P_MERGE_EPOCHS] = 3
    merge(tab)
    tab["status"][1] = K.FREE
    merge(tab)
    assert tab["n_close"].tolist() == [0, 0]


@pytest.mark.parametrize("k", [1, 5, 200])
def test_horizontal_cells_hold_every_neighbour_in_the_3x3_block(k):
    rng = np.random.default_rng(k)
    x = rng.uniform(-5000, 5000, (k, 6))
    x[: k // 2, :2] *= 0.01
    cell_of, n_x, n_y = horizontal_cells(x, 30.0)
    assert n_x * n_y <= 4 * k + 16 or (n_x == 1 and n_y == 1)
    cx, cy = cell_of // n_y, cell_of % n_y
    for a in range(k):
        near = np.hypot(x[:, 0] - x[a, 0], x[:, 1] - x[a, 1]) <= 30.0
        assert np.all(np.abs(cx[near] - cx[a]) <= 1) and np.all(np.abs(cy[near] - cy[a]) <= 1)
