"""A small progress bar on standard error: tasks done, running and left.

On a terminal the line is redrawn in place (at most ten times a second); elsewhere (a log, CI) only the
closing line of each job is written, so logs stay short.
"""
from __future__ import annotations

import sys
import time


class Progress:
    """Counts the tasks of one labelled job.

    Parameters
    ----------
    label : str
        What is being run (a claim id).
    total : int
        Number of tasks.
    enabled : bool
        When false nothing is printed.
    stream : file, optional
        Where to draw (standard error by default).
    """

    redraw_s = 0.1

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.label, self.total = label, int(total)
        self.done = self.running = self.reused = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()
        self._drawn = 0.0

    @property
    def left(self) -> int:
        """Tasks neither done nor running."""
        return max(self.total - self.done - self.running, 0)

    def update(self, done: int | None = None, running: int | None = None, reused: int | None = None) -> None:
        if done is not None:
            self.done = int(done)
        if running is not None:
            self.running = int(running)
        if reused is not None:
            self.reused = int(reused)
        now = time.perf_counter()
        if self.tty and (now - self._drawn >= self.redraw_s or self.done == self.total):
            self._drawn = now
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()

    def line(self) -> str:
        """``label [####----] 3/8 done (1 reused), 2 running, 3 left, 4.2s, eta 5s``."""
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.perf_counter() - self.t0
        reused = f" ({self.reused} reused)" if self.reused else ""
        fresh = self.done - self.reused
        eta = ""
        if 0 < fresh and self.done < self.total:
            eta = f", eta {elapsed / fresh * (self.total - self.done):.0f}s"
        return (f"{self.label:<40.40} [{bar}] {self.done}/{self.total} done{reused}, {self.running} running, "
                f"{self.left} left, {elapsed:.1f}s{eta}")

    def close(self, status: str = "") -> None:
        if not self.enabled:
            return
        self.running = 0
        end = f"  {status}" if status else ""
        self.stream.write(("\r" if self.tty else "") + self.line() + end + ("\x1b[K" if self.tty else "") + "\n")
        self.stream.flush()
