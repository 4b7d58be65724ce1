"""Shared look of the framework's figures: the Okabe-Ito palette, fonts sized for the report's width,
captions that name the claim and its parameters, and saving in several formats.

Okabe & Ito's eight colours stay distinguishable under the common colour-vision deficiencies; every
role below also differs in line style or marker, so a figure reads in grey scale too.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7"}

#: colour of each role in a comparison figure
PREDICTED = OKABE_ITO["blue"]
BAND = OKABE_ITO["sky_blue"]
MEASURED = OKABE_ITO["black"]
NEGATIVE = OKABE_ITO["vermillion"]
POSITIVE = OKABE_ITO["bluish_green"]
ALTERNATIVE = OKABE_ITO["reddish_purple"]
REPLICATE = "#7f7f7f"

#: colour and marker of each verdict
VERDICT_STYLE = {"verified": (OKABE_ITO["bluish_green"], "o"), "refuted": (OKABE_ITO["vermillion"], "X"),
                 "inconclusive": (OKABE_ITO["orange"], "s"), "error": (OKABE_ITO["reddish_purple"], "D")}

#: the figure width in inches (at 130 dpi, about 1000 px: the report's column, legible when shrunk to half)
WIDTH = 7.6
DPI = 130
FORMATS = (".png", ".pdf", ".svg")

RC = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 7.5,
      "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
      "legend.frameon": False, "figure.dpi": DPI}


def style():
    """Context manager applying :data:`RC` (``with style(): ...``)."""
    return plt.rc_context(RC)


def wrap(text: str, width: int = 110) -> str:
    """``text`` broken into lines of at most ``width`` characters."""
    return "\n".join(textwrap.wrap(str(text), width)) if text else ""


def short(text: str, limit: int = 90) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def format_value(v) -> str:
    """A parameter value in a caption: numbers to 4 significant digits, lists element-wise."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def params_caption(params, limit: int = 600) -> str:
    """``name=value, ...`` of a claim's parameters (cut at ``limit`` characters)."""
    return short(", ".join(f"{k}={format_value(v)}" for k, v in sorted((params or {}).items())), limit)


def save(fig, out, formats=None) -> list[Path]:
    """Save ``fig`` to ``out`` (its suffix decides the format) or, with ``formats``, to ``out`` with each
    suffix in turn; each file appears whole or not at all.  The figure is closed.  Returns the paths."""
    out = Path(out)
    targets = [out] if not formats else [out.with_name(out.name + s) if out.suffix.lower() not in FORMATS
                                         else out.with_suffix(s) for s in formats]
    written = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.stem + ".tmp" + target.suffix)
            try:
                fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
                tmp.replace(target)
            finally:
                tmp.unlink(missing_ok=True)
            written.append(target)
    finally:
        plt.close(fig)
    return written
