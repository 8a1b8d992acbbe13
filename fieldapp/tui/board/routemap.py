"""The day's routes drawn in the terminal (plotext braille lines over longitude/latitude)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual_plotext import PlotextPlot


@dataclass(frozen=True)
class MapRoute:
    """One clinician's stops in order, as (lat, lon)."""

    label: str
    points: list[tuple[float, float]]
    alert: bool = False


@dataclass(frozen=True)
class MapData:
    """What the map shows: routes and visits nobody has yet."""

    routes: list[MapRoute] = field(default_factory=list)
    loose: list[tuple[float, float]] = field(default_factory=list)


class RouteMap(PlotextPlot):
    """A presentational map: give it `MapData` with `show`, it draws nothing else."""

    def show(self, data: MapData) -> None:
        """Redraw with new routes."""
        plt = self.plt
        plt.clear_data()
        plt.title("Routes (lon → , lat ↑)")
        for route in data.routes:
            if not route.points:
                continue
            lats = [p[0] for p in route.points]
            lons = [p[1] for p in route.points]
            label = f"{route.label} !" if route.alert else route.label
            if len(route.points) > 1:
                plt.plot(lons, lats, marker="braille", label=label)
            else:
                plt.scatter(lons, lats, marker="dot", label=label)
        if data.loose:
            plt.scatter(
                [p[1] for p in data.loose], [p[0] for p in data.loose], marker="x", label="open"
            )
        self.refresh()
