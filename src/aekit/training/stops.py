"""Stop signals put off during a training epoch, so that the trainer keeps the work in progress.

A stop whose handler is Python's (Ctrl-C; the aekit command's SIGTERM, SIGHUP and SIGUSR1) that comes
during the epoch's steps waits for the step's end, where the trainer checkpoints the epoch so far (a
cluster trial: a preempted job lost the epoch in progress); one after them waits for the epoch's
validation and its checkpoint. Then the signal's own handler ends the run. A second signal is
answered at once, as is one inside a fit that a callback runs (it is that fit's to stop).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1") if hasattr(signal, name))


class StopSignals:
    """One trainer's putting-off: `epoch()` around each epoch, `stepping` while its steps run, `asked` (the
    signal put off, or None) looked at after each step, `answer()` once the work is checkpointed."""

    active: StopSignals | None = None  # the one whose epoch puts signals off (a fit inside it answers them)

    def __init__(self, *, say: bool) -> None:
        self.say = say  # whether a wait for the epoch's end is said (progress on)
        self.handlers: dict[int, Any] = {}  # the signals' own handlers (kept after the epoch, for one still installed)
        self.on = False  # whether signals are put off now
        self.stepping = False  # whether the epoch's steps run (a stop waits for a step) or its end (for that)
        self.asked: tuple[int, Any] | None = None  # the signal put off: (number, frame)

    @contextlib.contextmanager
    def epoch(self, *, enabled: bool):
        """Put stop signals off during an epoch where `enabled` (a checkpoint can be written for them: a run folder,
        one process) and this is the main thread, which alone handles signals; answer one still put off at its end."""
        main = threading.current_thread() is threading.main_thread()
        outer = StopSignals.active if main else None  # (a fit in another thread, a tuner's worker, changes nothing)
        was = outer is not None and outer.on
        try:
            if outer is not None:  # a fit inside another's epoch (a callback's probe): signals go to their handlers
                outer.on = False
            elif enabled and main:
                StopSignals.active, self.handlers = self, {}  # first: a signal as they are installed is answered at
                for number in SIGNALS:  # once, and those installed are put back
                    if callable(handler := signal.getsignal(number)):
                        self.handlers[number] = handler
                        signal.signal(number, self._put_off)
                self.on = True
            yield
        finally:
            if outer is not None:
                outer.on = was
            elif StopSignals.active is self:
                self.on, StopSignals.active = False, None  # first: a signal from here on is answered at once
                for number, handler in self.handlers.items():
                    signal.signal(number, handler)
        if self.asked is not None:  # (came after the epoch's checkpoint was written, or with none to write)
            self.answer()

    def _put_off(self, number: int, frame: Any) -> None:
        if self.asked is None and self.on:
            self.asked = (number, frame)
            if not self.stepping and self.say:  # validation's and callbacks' wait, however long: said (a review),
                line = "aekit: stopping as this epoch ends, once its validation and checkpoint are done (again to stop at once)\n"
                with contextlib.suppress(OSError, ValueError):  # unbuffered (a print could meet one the handler
                    if type(sys.stderr).__module__.startswith("ipykernel"):  # interrupted); a notebook's own stream (its
                        sys.stderr.write(line)  # file 2 showed it under an earlier cell too, a notebook hunt)
                    else:
                        os.write(2, line.encode())
        else:  # asked again, or no longer put off: at once
            self.handlers[number](number, frame)

    def answer(self) -> None:
        """Call the handler of the signal put off (one that returns, a caller's own: training goes on)."""
        number, frame = self.asked
        self.asked = None
        self.handlers[number](number, frame)


@contextlib.contextmanager
def signals_held():
    """Stop signals put off while the block runs, then answered: for a state a signal would leave half changed (an
    interrupt inside `torch.device("meta")`'s exit left torch's mode stack broken: the model built next was made on
    meta, "Cannot copy out of meta tensor", a suite's SIGHUP test). The main thread's alone, which handles them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[tuple[int, Any]] = []
    handlers = {number: handler for number in SIGNALS if callable(handler := signal.getsignal(number))}
    try:
        for number in handlers:
            signal.signal(number, lambda number, frame: came.append((number, frame)))
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        if came:
            number, frame = came[0]
            handlers[number](number, frame)
