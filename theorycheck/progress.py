"""A small progress bar on standard error (redrawn in place on a terminal, one line per claim otherwise)."""
from __future__ import annotations

import sys
import time


class Progress:
    """Counts tasks done, running and left for one labelled job.

    Parameters
    ----------
    label : str
        What is being run (a claim id).
    total : int
        Number of tasks.
    enabled : bool
        When false nothing is printed.
    """

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None):
        self.label, self.total, self.done, self.running = label, total, 0, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.t0 = time.perf_counter()

    def update(self, done: int | None = None, running: int | None = None) -> None:
        if done is not None:
            self.done = done
        if running is not None:
            self.running = running
        if self.tty:
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def _line(self) -> str:
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        left = self.total - self.done - self.running
        return (f"{self.label:<40.40} [{bar}] {self.done}/{self.total} done, {self.running} running, "
                f"{left} left, {time.perf_counter() - self.t0:6.1f}s")

    def close(self, status: str = "") -> None:
        if not self.enabled:
            return
        end = f"  {status}" if status else ""
        self.stream.write(("\r" if self.tty else "") + self._line() + end + "\n")
        self.stream.flush()
