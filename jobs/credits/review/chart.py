"""The weekly review's chart: credits per day of the top scenarios against their baselines, spikes
marked; below it, SEV0/SEV1/SEV2 counts per day. One PNG of `WIDTH` × `HEIGHT` pixels.

matplotlib with the Agg backend (no display, no GUI toolkit), imported here only: the CLI's other
commands never pay for it. The top panel plots each top scenario's mean credits per run on each day
(comparable with its baseline, which is per run) as a line, its baseline as a dashed line of the same
colour, and every spike run of that scenario as a red cross at its own credits.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from jobs.credits.review.aggregates import WeekRuns

WIDTH, HEIGHT, DPI = 1000, 800, 100
SEV_COLOURS = {"SEV0": "#7f0000", "SEV1": "#d62728", "SEV2": "#ff9f1c"}


def render(week: WeekRuns, top: list[dict[str, Any]]) -> bytes:
    """The PNG's bytes. No timestamp or software tag in it, so the same week gives the same bytes."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    days = week.period.days
    x = list(range(len(days)))
    labels = [f"{d:%a}\n{d:%m-%d}" for d in days]
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    credits_ax, sev_ax = figure.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    _credits_panel(credits_ax, week, top, days, x)
    _severity_panel(sev_ax, week, days, x)
    for ax in (credits_ax, sev_ax):
        ax.set_xticks(x, labels)
        ax.set_xlim(-0.5, len(days) - 0.5)
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(f"Weekly credit review {week.period.label} ({days[0]:%Y-%m-%d} – {days[-1]:%Y-%m-%d})")
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _credits_panel(ax, week: WeekRuns, top: list[dict[str, Any]], days: list[date], x: list[int]) -> None:
    ax.set_title("Credits per run, per day: top scenarios by total (dashed: baseline; x: spike runs)")
    ax.set_ylabel("credits per run")
    if not top:
        ax.text(0.5, 0.5, "no runs this week", ha="center", va="center", transform=ax.transAxes)
        return
    spikes_by_scenario: dict[str, list] = {}
    for run in week.spikes:
        spikes_by_scenario.setdefault(run.scenario_id, []).append(run)
    for row in top:
        scenario = row["scenario_id"]
        runs = week.scenarios[scenario]
        means = [runs.daily_credits[d] / runs.daily_runs[d] if runs.daily_runs.get(d) else float("nan") for d in days]
        [line] = ax.plot(x, means, marker="o", label=scenario)
        colour = line.get_color()
        if row["baseline_credits"] is not None:
            ax.axhline(row["baseline_credits"], color=colour, linestyle="--", linewidth=1)
        marks = [(days.index(r.started_at.date()), r.credits) for r in spikes_by_scenario.get(scenario, [])]
        if marks:
            ax.scatter([m[0] for m in marks], [m[1] for m in marks], marker="x", color="red", zorder=3)
    ax.legend(loc="upper left", fontsize="small")


def _severity_panel(ax, week: WeekRuns, days: list[date], x: list[int]) -> None:
    ax.set_title("Spike runs per day by severity")
    ax.set_ylabel("runs")
    bottom = [0] * len(days)
    for severity, colour in SEV_COLOURS.items():
        counts = [week.sev_by_day.get(d, {}).get(severity, 0) for d in days]
        ax.bar(x, counts, bottom=bottom, color=colour, label=severity)
        bottom = [b + c for b, c in zip(bottom, counts)]
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", fontsize="small")
