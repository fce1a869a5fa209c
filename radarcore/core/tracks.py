"""The track table: a structure of arrays with a fixed capacity and a free list."""
import numpy as np

from kernels import tracker as K
from kernels.classify import N_FEATURES
from kernels.oosm import HIST_FIELDS, history_arrays

#: Plots of each track's history for out-of-sequence updates (kernels.oosm).
HISTORY_PLOTS = 6


class TrackTable:
    """Track states in a structure of arrays.

    Slots are never compacted: a free slot has ``status == 0`` and its index
    sits on ``free_stack[:counters[C_N_FREE]]`` (the next slot handed out is
    the top of the stack).  The table grows by doubling between kernel calls,
    never inside one.

    Attributes
    ----------
    x : ndarray, shape (capacity, 6)
        Combined (moment-matched) state ``[e, n, u, ve, vn, vu]`` at ``t_state``.
    P : ndarray, shape (capacity, 6, 6)
    xm : ndarray, shape (capacity, n_models, 6)
        Per-model IMM states.
    Pm : ndarray, shape (capacity, n_models, 6, 6)
    log_mu : ndarray, shape (capacity, n_models)
        Log model probabilities.
    t_state, t_update, t_create : ndarray, shape (capacity,)
        Time of the state, of the last update, of the first plot.
    status : ndarray, shape (capacity,), int8
        0 free, 1 tentative, 2 confirmed, 3 coasting.
    track_id : ndarray, shape (capacity,), int64
        Monotonically increasing over the table's life.
    hits : ndarray, shape (capacity,), int64
        Number of plots associated.
    score : ndarray, shape (capacity,)
        Track log-likelihood ratio: the sum over associated plots of
        ``log(P_D N(y; 0, S) / lambda)`` (minus the association costs).
    features : ndarray, shape (capacity, N_FEATURES)
        Classification statistics (``kernels.classify``).
    n_close : ndarray, shape (capacity,), int64
        Output epochs in a row at which the track was close to another
        (duplicate merging, ``kernels.tracker.merge_close``).
    counters : ndarray, shape (N_COUNTERS,), int64
        Free-stack size, next track id and running statistics.
    h_n, h_head, h_t, h_z, h_R, h_rv, h_srv, h_pos, h_x, h_P, b_xm, b_Pm, b_log_mu, b_t, b_x, b_P, t_imm : ndarray
        Each track's history of its last ``history_plots`` plots (a ring
        buffer from slot ``h_head``) and the filter state before them, for exact
        out-of-sequence updates, and the time after which the track is on the
        IMM (``kernels.oosm``; :attr:`hist` is the tuple the kernels take).
        The per-model state ``xm, Pm, log_mu`` of a track (and of its base)
        holds nothing while its time is not after ``t_imm`` (on the CV filter).
    """

    _ARRAYS = ("x", "P", "xm", "Pm", "log_mu", "t_state", "t_update", "t_create", "status",
               "track_id", "hits", "score", "features", "n_close")

    def __init__(self, n_models, capacity=1024, history_plots=HISTORY_PLOTS):
        self.n_models = int(n_models)
        self.history_plots = int(history_plots)
        for name, array in history_arrays(0, self.n_models, self.history_plots).items():
            setattr(self, name, array)
        self._ARRAYS = type(self)._ARRAYS + HIST_FIELDS
        self.counters = np.zeros(K.N_COUNTERS, np.int64)
        self.counters[K.C_NEXT_ID] = 1
        self.capacity = 0
        self.x = np.zeros((0, 6))
        self.P = np.zeros((0, 6, 6))
        self.xm = np.zeros((0, self.n_models, 6))
        self.Pm = np.zeros((0, self.n_models, 6, 6))
        self.log_mu = np.zeros((0, self.n_models))
        self.t_state = np.zeros(0)
        self.t_update = np.zeros(0)
        self.t_create = np.zeros(0)
        self.status = np.zeros(0, np.int8)
        self.track_id = np.zeros(0, np.int64)
        self.hits = np.zeros(0, np.int64)
        self.score = np.zeros(0)
        self.features = np.zeros((0, N_FEATURES))
        self.n_close = np.zeros(0, np.int64)
        self.free_stack = np.zeros(0, np.int64)
        self._grow_to(int(capacity))

    @property
    def hist(self):
        """The history arrays as the tuple ``kernels.oosm`` takes."""
        return tuple(getattr(self, name) for name in HIST_FIELDS)

    @property
    def n_free(self):
        return int(self.counters[K.C_N_FREE])

    @property
    def n_live(self):
        return self.capacity - self.n_free

    def ensure_free(self, n):
        """Grow (by doubling) until at least ``n`` slots are free."""
        if self.n_free >= n:
            return
        new_capacity = max(self.capacity, 1)
        while new_capacity - self.n_live < n:
            new_capacity *= 2
        self._grow_to(new_capacity)

    def _grow_to(self, new_capacity):
        old = self.capacity
        for name in self._ARRAYS:
            a = getattr(self, name)
            b = np.zeros((new_capacity,) + a.shape[1:], a.dtype)
            b[:old] = a
            setattr(self, name, b)
        # new slots go under the existing free ones, lowest index on top
        n_free = self.n_free
        stack = np.empty(new_capacity, np.int64)
        new_slots = np.arange(new_capacity - 1, old - 1, -1, dtype=np.int64)
        stack[:new_slots.size] = new_slots
        stack[new_slots.size:new_slots.size + n_free] = self.free_stack[:n_free]
        self.free_stack = stack
        self.counters[K.C_N_FREE] = n_free + new_slots.size
        self.capacity = new_capacity

    def live_slots(self):
        return np.flatnonzero(self.status != K.FREE)

    def nbytes(self):
        """Bytes held by the table's arrays."""
        return sum(getattr(self, name).nbytes for name in self._ARRAYS) + self.free_stack.nbytes
