"""Adapters from our `SolverProblem` to solver libraries; each returns job orders per vehicle."""

from __future__ import annotations

from typing import Protocol

from fieldapp.routing.problem import SolverProblem


class Solver(Protocol):
    """A routing library behind our interface."""

    name: str

    def supports(self, problem: SolverProblem) -> bool:
        """Whether this library can represent every constraint of the problem."""
        ...

    def solve(
        self, problem: SolverProblem, time_limit_s: float, warm: list[list[int]] | None = None
    ) -> list[list[int]]:
        """For each vehicle, the job indices it visits, in order (`warm`: a plan to start from)."""
        ...
