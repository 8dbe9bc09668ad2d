"""Stops held back while native code calls into Python.

Ctrl-C and SIGTERM raise an exception wherever the main thread is in Python code. Inside a native call that runs
Python callbacks (safetensors builds its tensors that way) the exception does not come out as itself: the
library reports it as an error of its own (a ValueError about a storage's shape), and a clean stop becomes a
traceback. Holding the signals for the length of such a call and delivering them after it keeps the stop a stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

STOPS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM that come during the block are handled, by the handlers that were in place, when it
    ends. Only the main thread receives Python signals, so elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, object]] = []
    previous = {s: signal.signal(s, lambda signum, frame: held.append((signum, frame))) for s in STOPS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        for signum, frame in held:
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)  # Ctrl-C's KeyboardInterrupt, or the CLI's Terminated, raised here
            elif handler in (signal.SIG_DFL, None):
                os.kill(os.getpid(), signum)
