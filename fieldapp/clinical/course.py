"""Rules over a course of infusions: interval, LFT triggers, non-response, home registration."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import Field

from fieldapp.clinical.dates import add_months
from fieldapp.clinical.protocol import Protocol
from fieldapp.clinical.reasons import READINESS_LADDER, Model, Reason, fmt, worst
from fieldapp.clinical.rules import fire


class CourseInput(Model):
    """What the course so far says about this visit."""

    previous_infusions: list[datetime] = Field(default_factory=list)
    nrs_baseline: int | None = Field(None, ge=0, le=10)
    nrs_after: list[int] = Field(default_factory=list)
    visits_at_address: list[date] = Field(default_factory=list)
    address_registered: bool = False
    last_lft_date: date | None = None
    liver_risk: bool = False


class CourseDecision(Model):
    """Course-level outcome and its reasons."""

    outcome: str
    reasons: list[Reason]
    numbers: dict[str, Decimal | int | None]


def course_reasons(
    course: CourseInput, visit_at: datetime, protocol: Protocol
) -> tuple[list[Reason], dict[str, Decimal | int | None]]:
    """The course rules that fire for a visit at `visit_at`, and the numbers they used."""
    settings = protocol.course
    reasons: list[Reason] = []
    numbers: dict[str, Decimal | int | None] = {}
    earlier = [at for at in course.previous_infusions if at <= visit_at]
    if earlier:
        hours = Decimal((visit_at - max(earlier)).total_seconds()) / 3600
        numbers["hours_since_last_infusion"] = hours
        if hours < settings.min_interval_hours:
            reasons.append(
                fire(
                    protocol,
                    "interval_too_short",
                    f"Only {fmt(hours)} h since the last infusion; the minimum interval is "
                    f"{fmt(settings.min_interval_hours)} h",
                    f"{fmt(hours)} h",
                    f"{fmt(settings.min_interval_hours)} h",
                    "protocol.course.min_interval_hours",
                )
            )
    reasons += _lft_due(course, earlier, visit_at, protocol, numbers)
    reasons += _nonresponder(course, protocol, numbers)
    reasons += _home_registration(course, visit_at.date(), protocol, numbers)
    return reasons, numbers


def _lft_due(
    course: CourseInput,
    earlier: list[datetime],
    visit_at: datetime,
    protocol: Protocol,
    numbers: dict[str, Decimal | int | None],
) -> list[Reason]:
    hepatic = protocol.hepatic
    window_start = visit_at - timedelta(days=hepatic.frequent_window_days)
    # This visit's infusion counts: the 7th infusion in 30 days is the one that needs LFTs.
    count = sum(1 for at in earlier if at > window_start) + 1
    numbers["infusions_in_window"] = count
    today = visit_at.date()
    lft = course.last_lft_date
    current = lft is not None and lft >= today - timedelta(days=hepatic.lft_current_days)
    if count > hepatic.frequent_infusions_above and not current:
        return [
            fire(
                protocol,
                "lft_due",
                f"{count} infusions in {hepatic.frequent_window_days} days (more than "
                f"{hepatic.frequent_infusions_above}) and no LFTs in the last "
                f"{hepatic.lft_current_days} days: LFTs due",
                str(count),
                f"> {hepatic.frequent_infusions_above}",
                "protocol.hepatic.frequent_infusions_above",
            )
        ]
    if course.liver_risk and (
        lft is None or lft < add_months(today, -hepatic.series_interval_months)
    ):
        return [
            fire(
                protocol,
                "lft_due",
                f"Liver-toxicity risk and no LFTs in the last {hepatic.series_interval_months} "
                "months: LFTs due",
                str(lft) if lft else "none on file",
                f"{hepatic.series_interval_months} months",
                "protocol.hepatic.series_interval_months",
            )
        ]
    return []


def _nonresponder(
    course: CourseInput, protocol: Protocol, numbers: dict[str, Decimal | int | None]
) -> list[Reason]:
    settings = protocol.course
    done = len(course.nrs_after)
    if course.nrs_baseline is None or course.nrs_baseline == 0 or not done:
        return []
    best = max(
        Decimal(course.nrs_baseline - nrs) / Decimal(course.nrs_baseline) * 100
        for nrs in course.nrs_after
    )
    numbers["best_nrs_improvement_pct"] = best
    if done >= settings.nonresponder_after_infusions and (
        best < settings.nonresponder_min_improvement_pct
    ):
        return [
            fire(
                protocol,
                "nonresponder",
                f"After {done} infusions the best pain improvement is {fmt(best)}%, below "
                f"{fmt(settings.nonresponder_min_improvement_pct)}%: non-responder, "
                "review the plan",
                f"{fmt(best)}%",
                f"{fmt(settings.nonresponder_min_improvement_pct)}%",
                "protocol.course.nonresponder_min_improvement_pct",
            )
        ]
    return []


def _home_registration(
    course: CourseInput, today: date, protocol: Protocol, numbers: dict[str, Decimal | int | None]
) -> list[Reason]:
    settings = protocol.course
    window = timedelta(days=settings.home_registration_window_days)
    # This visit plus every other visit (past or planned) within the window either side.
    count = 1 + sum(
        1 for day in course.visits_at_address if day != today and abs(day - today) < window
    )
    numbers["visits_at_address"] = count
    if count >= settings.home_registration_visits and not course.address_registered:
        return [
            fire(
                protocol,
                "home_registration",
                f"{count} visits at this address within {settings.home_registration_window_days} "
                "days: recurring administration at one location may need its own DEA "
                "registration (legal review)",
                str(count),
                str(settings.home_registration_visits),
                "protocol.course.home_registration_visits",
            )
        ]
    return []


def evaluate_course(course: CourseInput, visit_at: datetime, protocol: Protocol) -> CourseDecision:
    """The course rules alone, as a readiness-style outcome."""
    reasons, numbers = course_reasons(course, visit_at, protocol)
    outcome = worst((reason.outcome for reason in reasons), READINESS_LADDER)
    return CourseDecision(outcome=outcome, reasons=reasons, numbers=numbers)
