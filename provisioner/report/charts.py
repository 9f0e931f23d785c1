"""Charts of the report as SVG text, drawn by pygal; the only module importing pygal.

pygal was measured against matplotlib's SVG backend (docs/benchmarks.md): it
imports in a tenth of the time and draws a chart in milliseconds, and its SVG
is plain vector shapes with text that HTML, print and WeasyPrint all show.
Script and comment lines (pygal links its tooltip JavaScript) are left out: the
report must not reach the network.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import pygal
from pygal.style import Style

from provisioner.report.model import Report, year_quantities
from provisioner.report.status import Status
from provisioner.report.text import Text

# pygal puts an import hook (for its map plugins) on sys.meta_path that only knows
# the old find_module protocol: every later import then warns. We use no plugins.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

# Up to this many schools get a bar each; more are shown as a distribution.
MAX_SCHOOL_BARS = 40
BANDS = ((0, 25), (25, 50), (50, 75), (75, 100), (100, 101))
COLOURS = ("#5b7db1", "#e0a526", "#3c9a5f", "#c0392b")
STATUS_COLOURS = {Status.GREEN: "#3c9a5f", Status.YELLOW: "#e0a526", Status.RED: "#c0392b"}
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SCRIPT = re.compile(r"<script.*?</script>", re.S)


def _style(colours: Sequence[str] = COLOURS) -> Style:
    return Style(font_family="DejaVu Sans, Arial, sans-serif", background="white",
                 plot_background="white", colors=tuple(colours), legend_font_size=13,
                 label_font_size=12, major_label_font_size=12, value_font_size=11,
                 title_font_size=15)


def _config(text: Text, **extra: object) -> dict[str, object]:
    return {"js": [], "disable_xml_declaration": True, "width": 760, "height": 340,
            "style": _style(), "legend_at_bottom": True, "print_values": False,
            "decimal_separator": "," if text.lang == "de" else ".",
            "thousands_separator": "." if text.lang == "de" else ",", **extra}


def _svg(chart: pygal.graph.graph.Graph) -> str:
    svg: str = chart.render(is_unicode=True)
    return _SCRIPT.sub("", _COMMENT.sub("", svg))


def plan_vs_actual(report: Report, text: Text) -> str:
    """Pieces planned against pieces done per plan year (counted items only)."""
    rows = year_quantities(report.measures)
    chart = pygal.Bar(**_config(text, title=text["plan_vs_actual"],
                                style=_style([COLOURS[0], COLOURS[2]])))
    chart.x_labels = [str(year) for year, _, _ in rows]
    chart.add(text["planned"], [planned for _, planned, _ in rows])
    chart.add(text["percent_done"], [done for _, _, done in rows])
    return _svg(chart)


def budget_per_year(report: Report, text: Text) -> str:
    """Budget planned, approved and paid out per plan year, in EUR."""
    chart = pygal.Bar(**_config(text, title=text["budget_per_year"] + " (EUR)"))
    chart.x_labels = [str(b.year) for b in report.budget]
    for key, values in (("budget", [b.budget_eur for b in report.budget]),
                        ("approved", [b.approved_eur for b in report.budget]),
                        ("spent", [b.spent_eur for b in report.budget])):
        chart.add(text[key], [float(v) for v in values])
    return _svg(chart)


def progress_per_school(report: Report, text: Text) -> str:
    """Share done per school (bars coloured by status), or schools per band when many."""
    schools = report.schools
    if len(schools) > MAX_SCHOOL_BARS:
        return _bands(report, text)
    height = max(240, 60 + 22 * len(schools))
    chart = pygal.HorizontalBar(**_config(
        text, title=text["progress_per_school"] + " (%)", height=height, range=(0, 100),
        show_legend=False, style=_style([STATUS_COLOURS[s.status] for s in schools])))
    chart.x_labels = [f"{s.school_id} {s.name[:28]}" for s in reversed(schools)]
    chart.add(text["percent_done"], [
        {"value": float(s.percent_done), "color": STATUS_COLOURS[s.status]}
        for s in reversed(schools)
    ])
    return _svg(chart)


def _bands(report: Report, text: Text) -> str:
    counts = [sum(1 for s in report.schools if low <= s.percent_done < high)
              for low, high in BANDS]
    labels = [f"{low}–{high} %" for low, high in BANDS[:-1]] + ["100 %"]
    chart = pygal.Bar(**_config(text, title=text["progress_bands"], show_legend=False))
    chart.x_labels = labels
    chart.add(text["schools"], counts)
    return _svg(chart)


def all_charts(report: Report, text: Text) -> dict[str, str]:
    """Every chart of the report by name: plan_vs_actual, progress, budget."""
    return {"plan_vs_actual": plan_vs_actual(report, text),
            "progress": progress_per_school(report, text),
            "budget": budget_per_year(report, text)}
