"""PNG charts of a round, for people who would rather look than read.

Three charts, each drawn from the numbers ``Engine.stats`` gives (so a chart and the table
beside it never disagree): progress by unit stacked by state, the weekly burn-down of open
items against the end of the concentrated period, and the traffic lights by unit.  Drawn on
a bare ``Figure`` (no pyplot state), with a CJK font from :mod:`.fonts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import need
from .fonts import cjk_font

#: colours for the usual light names; other names get a neutral grey
LIGHT_COLOURS = {"red": "#d9363e", "yellow": "#f0b400", "green": "#3a9b48", "blue": "#4a7fc1", "orange": "#f07f22"}
#: a sequential palette for workflow states, from "just found" to "closed"
STATE_PALETTE = ["#c6d4e1", "#9db8d2", "#6f9bc3", "#f0b400", "#4a7fc1", "#2f5f98", "#3a9b48", "#8064a2", "#a5a5a5"]


@dataclass(frozen=True)
class ChartData:
    """What the charts draw, in the reader's language."""

    title: str
    org: str
    units: Mapping[str, Mapping[str, Any]]  # unit -> the stats block of that unit
    states: Sequence[tuple[str, str, bool]]  # (state, label, final?) in workflow order
    lights: Sequence[tuple[str, str]]  # (light, label) in workflow order
    burn_down: Sequence[Mapping[str, Any]]
    feedback_date: date
    period_end: date
    labels: Mapping[str, str]  # axis and legend words


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, height), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _style() -> dict[str, Any]:
    from matplotlib import font_manager

    path = cjk_font()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    return {"font.family": [name], "axes.unicode_minus": False, "axes.spines.top": False, "axes.spines.right": False}


def _unit_label(unit: str, org: str) -> str:
    return unit[len(org) + 1 :] if unit.startswith(org + "/") else unit


def progress_by_unit(data: ChartData, path: Path) -> Path:
    """Horizontal bars, one per unit, stacked by state (closed last, in green)."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        units = sorted(data.units, key=lambda u: data.units[u]["total"])
        fig, ax = _figure(max(3.0, 1.2 + 0.42 * len(units)))
        left = [0] * len(units)
        names = [_unit_label(u, data.org) for u in units]
        for i, (state, label, final) in enumerate(data.states):
            counts = [data.units[u]["by_state"].get(state, 0) for u in units]
            if not any(counts):
                continue
            colour = LIGHT_COLOURS["green"] if final else STATE_PALETTE[i % len(STATE_PALETTE)]
            ax.barh(names, counts, left=left, label=label, color=colour, edgecolor="white", linewidth=0.6)
            left = [a + b for a, b in zip(left, counts, strict=True)]
        for y, (u, total) in enumerate(zip(units, left, strict=True)):
            rate = data.units[u]["completion_rate"]
            ax.text(total + 0.1, y, f" {rate * 100:.0f}%" if rate is not None else "", va="center", fontsize=8)
        ax.set_xlabel(data.labels["issues"])
        ax.set_title(f"{data.title} · {data.labels['progress_by_unit']}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.margins(x=0.12)
        ax.xaxis.get_major_locator().set_params(integer=True)
        fig.savefig(path)
    return path


def burn_down(data: ChartData, path: Path) -> Path:
    """Open items at each week's end, with the end of the concentrated period marked."""
    import matplotlib
    from matplotlib.dates import DateFormatter

    with matplotlib.rc_context(_style()):
        fig, ax = _figure(4.0)
        days = [date.fromisoformat(w["week_ending"]) for w in data.burn_down]
        ax.plot(
            days,
            [w["open"] for w in data.burn_down],
            marker="o",
            markersize=3,
            color="#2f5f98",
            label=data.labels["open"],
        )
        ax.axvline(data.period_end, color=LIGHT_COLOURS["red"], linestyle="--", linewidth=1)
        ax.annotate(
            data.labels["period_end"],
            (data.period_end, ax.get_ylim()[1]),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
            color=LIGHT_COLOURS["red"],
        )
        ax.set_xlim(left=data.feedback_date)
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_formatter(DateFormatter("%m-%d"))
        ax.set_ylabel(data.labels["open"])
        ax.set_title(f"{data.title} · {data.labels['burn_down']}")
        ax.yaxis.get_major_locator().set_params(integer=True)
        fig.savefig(path)
    return path


def lights_by_unit(data: ChartData, path: Path) -> Path:
    """Columns per unit, stacked by traffic light, for the items still open."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        units = sorted(data.units)
        fig, ax = _figure(4.0)
        names = [_unit_label(u, data.org) for u in units]
        bottom = [0] * len(units)
        for light, label in data.lights:
            counts = [data.units[u]["lights"].get(light, 0) for u in units]
            ax.bar(names, counts, bottom=bottom, label=label, color=LIGHT_COLOURS.get(light, "#a5a5a5"))
            bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
        ax.set_ylabel(data.labels["open"])
        ax.set_title(f"{data.title} · {data.labels['lights_by_unit']}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.set_ylim(0, max([*bottom, 1]) * 1.15)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(axis="x", labelrotation=30 if len(units) > 4 else 0, labelsize=8)
        fig.savefig(path)
    return path


CHARTS = {"progress_by_unit": progress_by_unit, "burn_down": burn_down, "lights_by_unit": lights_by_unit}


def draw_all(data: ChartData, directory: Path) -> dict[str, Path]:
    """Every chart as ``<name>.png`` in ``directory``; the charts by unit only when there are
    units to show (the public version may not break down by unit)."""
    need("matplotlib")
    directory.mkdir(parents=True, exist_ok=True)
    wanted = [n for n in CHARTS if data.units or not n.endswith("_by_unit")]
    return {name: CHARTS[name](data, directory / f"{name}.png") for name in wanted}
