"""Numbers for tables: one formatter shared by the command line, the report and the README tables."""
from __future__ import annotations

import math


def fmt(x) -> str:
    """Four significant digits, scientific outside ``[1e-3, 1e5)``; lists in brackets; ``None`` as a dash."""
    if x is None:
        return "–"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in x) + "]"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if x == 0 or 1e-3 <= abs(x) < 1e5:
            return f"{x:.4g}"
        return f"{x:.3e}"
    return str(x)


UNITS = {"tolerance": "tol", "band half-width": "band", "resolution": "res"}


def control_distance_text(row) -> str:
    """A verify row's control distance with its unit (``1.5 tol``), or a dash when it has none."""
    d = row.get("control_distance")
    if d is None:
        return "–"
    return f"{fmt(float(d))} {UNITS.get(row.get('control_distance_unit'), '')}".strip()
