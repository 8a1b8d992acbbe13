"""Route planning settings, read from `config/routing.toml` into pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldapp.config import config_dir, load_toml, validate


class GeocoderSettings(BaseModel):
    """Which geopy geocoder to use and how politely."""

    model_config = ConfigDict(extra="forbid")

    service: str = "nominatim"
    """A geopy service name, as `get_geocoder_for_service` knows it."""
    user_agent: str = Field(min_length=1)
    """The identifying user agent the geocoder's usage policy asks for."""
    timeout_s: float = Field(default=10.0, gt=0)
    """Seconds one request may take."""
    min_delay_s: float = Field(default=1.0, ge=0)
    """Least seconds between two requests (Nominatim allows one per second)."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of a failed request before the address is reported as failed."""
    error_wait_s: float = Field(default=5.0, ge=0)
    """Seconds to wait after a failed request before retrying."""
    cache_path: str = ""
    """The sqlite cache file; empty means the user cache folder."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments for the geocoder (an api_key, a domain)."""


class TravelSettings(BaseModel):
    """How straight-line distance becomes road distance and driving time."""

    model_config = ConfigDict(extra="forbid")

    circuity: float = Field(default=1.35, ge=1.0, le=3.0)
    """Road distance divided by straight-line distance."""
    speed_kmh: float = Field(default=35.0, gt=0, le=130)
    """Average driving speed, km/h."""


class VisitSettings(BaseModel):
    """Rules that turn visit flags into planning facts."""

    model_config = ConfigDict(extra="forbid")

    first_infusion_extra_min: int = Field(default=30, ge=0)
    """Minutes added to a visit flagged as the patient's first infusion."""
    first_infusion_flag: str = "first_infusion"
    """The flag naming a first infusion."""
    escort_flag: str = "escort"
    """The flag naming a visit that must not be done by a lone clinician."""


class PlannerSettings(BaseModel):
    """Which solver runs and for how long."""

    model_config = ConfigDict(extra="forbid")

    solver: Literal["auto", "vroom", "pyvrp"] = "auto"
    """`auto` runs VROOM, and PyVRP too when the day fits it, keeping the better plan."""
    time_limit_s: float = Field(default=5.0, gt=0)
    """Wall-clock seconds for one day's solve."""
    objective: Literal["time", "distance"] = "time"
    """Minimise driving minutes or driving km."""
    vroom_exploration: int = Field(default=5, ge=0, le=5)
    """VROOM's search breadth."""
    vroom_threads: int = Field(default=2, ge=1, le=64)
    """Threads VROOM may use."""
    continuity_penalty_min: float = Field(default=45.0, ge=0)
    """Extra driving minutes charged for a visit not given to the patient's earlier clinician."""


class SkillSettings(BaseModel):
    """How credentials imply one another."""

    model_config = ConfigDict(extra="forbid")

    implies: dict[str, list[str]] = Field(default_factory=dict)
    """A skill and the skills it includes (an MD may do what an RN does)."""


class RoutingSettings(BaseModel):
    """Everything route planning reads from config."""

    model_config = ConfigDict(extra="forbid")

    geocoder: GeocoderSettings
    """Geocoding."""
    travel: TravelSettings = Field(default_factory=TravelSettings)
    """Travel-time estimate."""
    visits: VisitSettings = Field(default_factory=VisitSettings)
    """Visit rules."""
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    """Solver choice."""
    skills: SkillSettings = Field(default_factory=SkillSettings)
    """Skill implications."""


def load_routing_settings(path: Path | None = None) -> RoutingSettings:
    """Read and check `routing.toml` (the shipped one unless `path` is given)."""
    source = path or config_dir() / "routing.toml"
    return validate(RoutingSettings, load_toml(source), source)
