"""Pain NRS and PHQ-9 over the infusions of a course."""

from __future__ import annotations

from textual_plotext import PlotextPlot


class CourseChart(PlotextPlot):
    """Give it the series with `show(...)`; missing values are left out of each line."""

    def show(
        self,
        numbers: list[int],
        nrs_before: list[int | None],
        nrs_after: list[int | None],
        phq9: list[int | None],
    ) -> None:
        """Redraw: x is the infusion number, y the score."""
        plt = self.plt
        plt.clear_data()
        plt.title("Pain NRS and PHQ-9 by infusion")
        plt.xlabel("infusion")
        lines = (("NRS before", nrs_before), ("NRS after", nrs_after), ("PHQ-9", phq9))
        for label, series in lines:
            xs = [n for n, v in zip(numbers, series, strict=True) if v is not None]
            ys = [v for v in series if v is not None]
            if xs:
                plt.plot(xs, ys, label=label, marker="braille")
        self.refresh()
