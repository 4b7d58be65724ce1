"""Figures drawn by the framework from verify rows, for every claim without plotting code of its own.

* :func:`comparison_figure` — a claim's bound-versus-empirical figure (:mod:`.comparison`);
* :func:`summary_figure` — a family's intervals standardised against their own bands (:mod:`.summary`);
* :func:`save` — PNG / PDF / SVG, written atomically (:mod:`.style`).
"""
from .comparison import comparison_figure, curve_points, detail_image, draw_curve, draw_strip, replicates
from .style import FORMATS, OKABE_ITO, VERDICT_STYLE, save
from .summary import band_edges, standardise, summary_figure

__all__ = ["comparison_figure", "curve_points", "detail_image", "draw_curve", "draw_strip", "replicates", "FORMATS",
           "OKABE_ITO", "VERDICT_STYLE", "save", "band_edges", "standardise", "summary_figure"]
