"""Follow-ups of one visit: tasks with owners and timers, acknowledged, done or overdue.

A decision's follow-up actions become `Task` records (who, what, due when); each change is
a `TaskUpdate` (acknowledged on the orders screen, done, overdue), so the timers live in the
store and survive a lock, a crash or a restart: `sweep` reads them back from the records.
Tasks for people off the laptop (prescriber, supervisor) reach the clinic with the visit
at the next sync. `sweep` also runs the escalation timers: a stop without recovery, a
patient still not cleared.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from fieldapp.clinical import escalation
from fieldapp.clinical.actions import FollowUp, follow_up
from fieldapp.clinical.monitoring import Reading
from fieldapp.services import engine
from fieldapp.services.visit import StepRefused, VisitSession
from sync.records import RecoveryRecord, Task, TaskUpdate, VitalsReading

# Follow-ups the app marks done itself when the clinician records what they ask for.
DONE_BY_READING = ("vitals_due", "recheck_vitals")
DONE_BY_RECOVERY = ("post_stop_recheck", "rescore_recovery")


def as_reading(v: VitalsReading, minute: float = 0) -> Reading:
    """A recorded reading as the monitoring engine reads it, `minute` into the infusion."""
    symptoms = list(v.symptoms)
    return Reading(
        minute=max(Decimal(0), Decimal(int(minute * 60)) / 60),
        systolic=v.systolic_mmhg,
        diastolic=v.diastolic_mmhg,
        heart_rate=v.heart_rate_bpm,
        spo2=v.spo2_pct,
        spo2_below_seconds=v.spo2_low_seconds or 0,
        rr=v.resp_rate_per_min,
        apnoea=any(s in ("apnoea", "apnea") for s in symptoms),
        rass=v.rass,
        symptoms=symptoms,
    )


class FollowUps:
    """The tasks of one visit and their timers."""

    def __init__(self, session: VisitSession) -> None:
        self.session = session

    # -- reading ---------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        """Every task of this visit, oldest first."""
        return self.session.of(Task)

    def _updates(self, task: Task) -> list[TaskUpdate]:
        return [u for u in self.session.of(TaskUpdate) if u.task_id == task.id]

    def status(self, task: Task) -> set[str]:
        """What has been recorded of a task: any of acknowledged, done, overdue."""
        return {u.status for u in self._updates(task)}

    def open(self) -> list[Task]:
        """Tasks not done yet."""
        return [t for t in self.tasks() if "done" not in self.status(t)]

    def unacknowledged(self) -> list[Task]:
        """Tasks the clinician has not yet seen on the orders screen."""
        return [t for t in self.tasks() if not self.status(t) & {"acknowledged", "done"}]

    def overdue(self) -> list[Task]:
        """Open tasks past their due time."""
        now = self.session.services.clock.now()
        return [t for t in self.open() if t.due_at is not None and t.due_at < now]

    # -- writing ---------------------------------------------------------------------------

    def start(
        self,
        follow_ups: Iterable[FollowUp],
        due_at: dict[str, datetime] | None = None,
        escalates: UUID | None = None,
    ) -> list[Task]:
        """Record a task per follow-up (one already open for the same action is kept)."""
        now = self.session.services.clock.now()
        open_actions = {t.action for t in self.open()}
        started = []
        for item in follow_ups:
            if item.action in open_actions:
                continue
            minutes = float(item.due_minutes) if item.due_minutes is not None else 0.0
            due = (due_at or {}).get(item.action) or now + timedelta(minutes=minutes)
            task = self.session.new(
                Task,
                action=item.action,
                owner=item.owner,
                text=item.text,
                rule_id=item.rule_id,
                due_at=due if item.due_minutes is not None else None,
                escalates=escalates,
            )
            self.session.save(task)
            started.append(task)
            open_actions.add(item.action)
        return started

    def _update(self, task: Task, status: str, note: str | None = None) -> TaskUpdate:
        update = self.session.new(
            TaskUpdate,
            task_id=task.id,
            status=status,
            at=self.session.services.clock.now(),
            note=note,
        )
        self.session.save(update)
        return update

    def _task(self, task_id: UUID) -> Task:
        task = next((t for t in self.tasks() if t.id == task_id), None)
        if task is None:
            raise StepRefused("That task is not part of this visit.")
        return task

    def acknowledge(self, task_id: UUID) -> TaskUpdate:
        """The clinician has read the order (recorded with the time)."""
        return self._update(self._task(task_id), "acknowledged")

    def complete(self, task_id: UUID, note: str | None = None) -> TaskUpdate:
        """The task is done (recorded with the time); a second time changes nothing."""
        task = self._task(task_id)
        done = next((u for u in self._updates(task) if u.status == "done"), None)
        return done or self._update(task, "done", note)

    def complete_actions(self, actions: Iterable[str], note: str) -> list[TaskUpdate]:
        """Mark every open task of these actions done (what they asked was recorded)."""
        wanted = set(actions)
        return [self._update(t, "done", note) for t in self.open() if t.action in wanted]

    # -- timers ----------------------------------------------------------------------------

    def sweep(self) -> list[Task]:
        """Record overdue tasks once each, and start any escalation now due; returns the
        tasks started (an escalation the screen must show at once)."""
        for task in self.overdue():
            if "overdue" not in self.status(task):
                self._update(task, "overdue")
        return self._escalate_stop() + self._escalate_recovery()

    def _escalated(self, rule_id: str) -> bool:
        return any(t.rule_id == rule_id for t in self.tasks())

    def _escalate_stop(self) -> list[Task]:
        protocol = engine.protocol()
        stop = next((v for v in self.session.vitals("during") if v.judgement == "stop"), None)
        if stop is None or self._escalated(escalation.AFTER_STOP):
            return []
        after = [v for v in self.session.vitals("post") if v.taken_at >= stop.taken_at]
        back = next(
            (v.taken_at for v in after if escalation.recovered(as_reading(v), protocol)), None
        )
        now = self.session.services.clock.now()
        if not escalation.after_stop_due(stop.taken_at, back, now, protocol):
            return []
        recheck = next((t.id for t in self.tasks() if t.action == "post_stop_recheck"), None)
        return self.start(escalation.escalation(escalation.AFTER_STOP, protocol), escalates=recheck)

    def _escalate_recovery(self) -> list[Task]:
        from fieldapp.services.recovery import Recovery

        session, protocol = self.session, engine.protocol()
        if not session.has_status("infusion_ended") or self._escalated(escalation.NOT_CLEARED):
            return []
        last = session.last(RecoveryRecord)
        cleared = last is not None and last.decision == "cleared"
        minutes = Recovery(session).minutes_since_end()
        if not escalation.not_cleared_due(minutes, cleared, protocol):
            return []
        rescore = next((t.id for t in self.tasks() if t.action == "rescore_recovery"), None)
        return self.start(
            escalation.escalation(escalation.NOT_CLEARED, protocol), escalates=rescore
        )

    def rescore_after_not_cleared(self) -> list[Task]:
        """A not-cleared assessment: the next one is due after the re-score interval."""
        return self.start([escalation.rescore(engine.protocol())])

    def next_vitals(self, due: datetime) -> list[Task]:
        """The routine BP timer: the next vitals are due at `due`."""
        item = follow_up("vitals_due", "vitals_interval", engine.protocol())
        return self.start([item], due_at={"vitals_due": due})
