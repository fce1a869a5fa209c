"""Stop on SIGINT or SIGTERM: one context manager for serve, emulate and record.

``with stop_on_signals() as stop:`` installs handlers that only set the
``threading.Event`` it yields (and count the signals), so the command's own
loop decides how to stop: it polls ``stop`` and winds down cleanly.  The
previous handlers come back on exit.  A second signal during the wind-down
is counted and logged, never fatal: a command that is draining accepted work
must not be cut off by an impatient supervisor sending SIGTERM twice.

Where polling is not possible (a long compilation, a replay inside a
library call), ``with stop.raising(SomeError):`` makes a signal also raise
``SomeError`` in the main thread, like Ctrl-C raises KeyboardInterrupt; use
it only around code that holds nothing a half-done step could leave behind.

Signal handlers can only be installed from the main thread; anywhere else
(a command run from a test's worker thread) the event is yielded without
handlers.
"""
import contextlib
import logging
import signal
import threading

log = logging.getLogger("radarcore.service.signals")

#: The signals that ask a command to stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopEvent(threading.Event):
    """A ``threading.Event`` set by a stop signal; ``signals`` counts them, ``last`` names the latest."""

    def __init__(self):
        super().__init__()
        self.signals = 0
        self.last = None
        self.raise_type = None

    @contextlib.contextmanager
    def raising(self, exception_type):
        """While the block runs, a stop signal also raises ``exception_type`` (and one already
        received raises it at once)."""
        if self.is_set():
            raise exception_type(f"by {self.last or 'a signal'}")
        self.raise_type = exception_type
        try:
            yield self
        finally:
            self.raise_type = None


@contextlib.contextmanager
def stop_on_signals(signals=STOP_SIGNALS, event=None):
    """Set an event on SIGINT or SIGTERM while the block runs.

    Parameters
    ----------
    signals : tuple of signal.Signals
    event : StopEvent or None
        The event to set; a new one by default.

    Yields
    ------
    StopEvent
    """
    event = StopEvent() if event is None else event

    def handler(signum, frame):
        event.signals += 1
        event.last = signal.Signals(signum).name
        if event.is_set():
            log.warning("%s again: already stopping", event.last)
        event.set()
        if event.raise_type is not None:
            raise_type, event.raise_type = event.raise_type, None
            raise raise_type(f"by {event.last}")

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
