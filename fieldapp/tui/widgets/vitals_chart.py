"""A live chart of systolic, diastolic and heart rate against the clock.

The x-axis reads in clock minutes (HH:MM, the clinic's zone) and the key to the lines sits
in its own line under the chart (`legend()`), never over the data.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual_plotext import PlotextPlot

# (label, plotext colour, Rich colour): the same colour on the line and in the key.
SERIES = (("sys", "red", "red"), ("dia", "blue", "blue"), ("HR", "green", "green"))
MAX_TICKS = 4


def legend() -> Text:
    """The key to the chart's lines, for a line outside the plot."""
    text = Text()
    for index, (label, _, colour) in enumerate(SERIES):
        text.append("  " if index else "")
        text.append("━━ ", colour)
        text.append(label)
    return text


def clock_ticks(times: list[datetime]) -> tuple[list[float], list[str]]:
    """Up to `MAX_TICKS` x positions (minutes after the first reading) and their HH:MM,
    placed at readings themselves so every label is a time a reading was taken."""
    if not times:
        return [], []
    count = min(MAX_TICKS, len(times))
    last = len(times) - 1
    picks = sorted({round(last * i / (count - 1)) for i in range(count)} if count > 1 else {0})
    labels: list[str] = []
    positions: list[float] = []
    for index in picks:
        label = f"{times[index]:%H:%M}"
        if label not in labels:  # two readings in one minute: one label
            labels.append(label)
            positions.append((times[index] - times[0]).total_seconds() / 60)
    return positions, labels


class VitalsChart(PlotextPlot):
    """Give it the readings' times (in the clinic's zone) and values; it redraws."""

    def show(
        self, times: list[datetime], systolic: list[int], diastolic: list[int], hr: list[int]
    ) -> None:
        """Redraw with these series (same length each), x in clock minutes."""
        plt = self.plt
        plt.clear_data()
        plt.title("BP and HR")
        if times:
            first = times[0]
            minutes = [(t - first).total_seconds() / 60 for t in times]
            for (_, colour, _), values in zip(SERIES, (systolic, diastolic, hr), strict=True):
                plt.plot(minutes, values, marker="braille", color=colour)
            positions, labels = clock_ticks(times)
            plt.xticks(positions, labels)
        self.refresh()
