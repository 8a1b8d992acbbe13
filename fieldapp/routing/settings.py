"""Route planning settings, read from `config/routing.toml` into pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    """Retries of a request the service refused as too many (rate limited); never of one
    that found the service unavailable."""
    error_wait_s: float = Field(default=5.0, ge=0)
    """Seconds to wait after a rate-limited request before retrying."""
    deadline_s: float = Field(default=60.0, gt=0)
    """Seconds all geocoding of one plan may take; addresses still waiting are reported."""
    failure_cache_s: float = Field(default=600.0, ge=0)
    """Seconds a failed lookup (or the service seen unavailable) is remembered and not
    asked again, so a re-plan does not wait for the same failure."""
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
    stall_iterations: int = Field(default=2_000, ge=100)
    """PyVRP stops early after this many search iterations without a better plan, so a
    small day does not spend the whole time limit."""


LEVELS = ("low", "medium", "high")
Level = Literal["low", "medium", "high"]


class SafetyRule(BaseModel):
    """What an address safety note of one category requires, from which level up."""

    model_config = ConfigDict(extra="forbid")

    escort_from: Level | Literal["never"] = "high"
    """From this level up, only an accompanied clinician may go (`never`: no escort)."""
    skills: list[str] = Field(default_factory=list)
    """Skills the visiting clinician must then hold (e.g. `deescalation`)."""
    skills_from: Level | Literal["never"] = "never"
    """From this level up, `skills` are required."""


class SafetySettings(BaseModel):
    """Address safety notes (category and level) mapped onto escort and skill needs."""

    model_config = ConfigDict(extra="forbid")

    categories: dict[str, SafetyRule] = Field(default_factory=dict)
    """Each category a note may carry and what it requires."""
    unknown_escort: bool = True
    """A note whose category is not listed requires an escort (the safe side)."""

    def requires(self, category: str, level: str) -> tuple[bool, frozenset[str]]:
        """(escort needed, skills needed) for one note."""
        rule = self.categories.get(category)
        if rule is None:
            return self.unknown_escort, frozenset()
        rank = LEVELS.index(level) if level in LEVELS else len(LEVELS) - 1

        def reached(threshold: str) -> bool:
            return threshold != "never" and rank >= LEVELS.index(threshold)

        skills = frozenset(rule.skills) if reached(rule.skills_from) else frozenset()
        return reached(rule.escort_from), skills


class ClinicSettings(BaseModel):
    """Facts about the clinic the planner needs."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "America/Los_Angeles"
    """The clinic's IANA timezone: CSV times with `Z` or an offset are converted into it."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r} (an IANA name such as Europe/Paris)"
            ) from None
        return value


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
    safety: SafetySettings = Field(default_factory=SafetySettings)
    """Address safety notes."""
    clinic: ClinicSettings = Field(default_factory=ClinicSettings)
    """The clinic's timezone."""


def load_routing_settings(path: Path | None = None) -> RoutingSettings:
    """Read and check `routing.toml` (the shipped one unless `path` is given)."""
    source = path or config_dir() / "routing.toml"
    return validate(RoutingSettings, load_toml(source), source)
