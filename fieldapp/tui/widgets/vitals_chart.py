"""A live chart of systolic, diastolic and heart rate over the infusion's minutes."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class VitalsChart(PlotextPlot):
    """Give it points with `show(points)`; it redraws."""

    def show(
        self, minutes: list[float], systolic: list[int], diastolic: list[int], hr: list[int]
    ) -> None:
        """Redraw with these series (same length each)."""
        plt = self.plt
        plt.clear_data()
        plt.title("BP and HR")
        plt.xlabel("min")
        if minutes:
            plt.plot(minutes, systolic, label="sys", marker="braille")
            plt.plot(minutes, diastolic, label="dia", marker="braille")
            plt.plot(minutes, hr, label="HR", marker="braille")
        self.refresh()
