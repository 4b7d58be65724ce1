"""Verify rows to figure files: one figure per claim, one summary per family.

``theorycheck plot`` runs the selected claims (reusing the replicates of a results store when given one),
then writes each claim's comparison figure (with the claim's own figure below it, when it has one) and,
for several claims, a summary per family (:mod:`.summary`).
"""
from __future__ import annotations

from pathlib import Path

from . import style
from .comparison import comparison_figure, detail_image
from .summary import summary_figure


def claim_figure(claim, row, detail: bool = True):
    """``(figure, warning)``: the claim's figure from its row; ``warning`` says why its own figure
    (``claim.plot``) is missing when drawing it failed."""
    pixels, warning = None, None
    if detail and claim is not None and claim.plot is not None and row.get("params") is not None:
        try:
            pixels = detail_image(claim, row)
        except Exception as exc:  # the comparison still stands without the claim's own figure
            warning = f"{claim.id}: its own figure could not be drawn ({type(exc).__name__}: {exc})"
    return comparison_figure(row, claim, pixels), warning


def write_claim_figure(claim, row, out, formats=None, detail: bool = True) -> tuple[list[Path], str | None]:
    """Write the claim's figure to ``out`` (with ``formats``: ``out`` + each suffix); returns the paths and
    the warning of :func:`claim_figure`."""
    fig, warning = claim_figure(claim, row, detail)
    return style.save(fig, out, formats), warning


def family_of(claim_id: str) -> str:
    """The paper of a claim id (its first component)."""
    return claim_id.split(".", 1)[0]


def write_summaries(rows, out_dir, formats=(".png", ".pdf"), name: str | None = None) -> list[Path]:
    """One summary figure per family of ``rows`` in ``out_dir`` (``FAMILY.summary.png`` ...); ``name``
    replaces the family's name when the rows are one family."""
    families: dict[str, list] = {}
    for r in rows:
        families.setdefault(family_of(r["claim"]), []).append(r)
    written = []
    for fam, group in sorted(families.items()):
        label = name if name and len(families) == 1 else fam
        fig = summary_figure(group, label)
        written += style.save(fig, Path(out_dir) / f"{label}.summary", formats)
    return written
