"""Periodic jobs and the small scheduler loop behind `flask jobs schedule`.

Cron is the alternative (README, "Command line"): `flask jobs run outbox-sweep` every minute
and `flask jobs run send-reminders` hourly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("portal.jobs.schedule")


@dataclass(frozen=True)
class Schedule:
    job: str
    every_seconds: int


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("outbox-sweep", 60),
    Schedule("send-reminders", 3600),
    Schedule("close-expired-rfqs", 300),
    Schedule("send-invoice-reminders", 86400),
)


class Scheduler:
    """Enqueues each scheduled job once per period.

    With Redis, a period is claimed with SET NX first, so two schedulers running by mistake
    still enqueue each job once per period (the jobs are idempotent anyway).
    """

    def __init__(self, runner, *, redis=None, schedules=SCHEDULES, clock: Callable[[], float] = time.time):
        self.runner, self.redis, self.schedules, self.clock = runner, redis, schedules, clock
        self._last_slot: dict[str, int] = {}

    def tick(self) -> list[str]:
        """Enqueue the jobs whose period has begun since the last tick; returns their names."""
        now = self.clock()
        started = []
        for schedule in self.schedules:
            slot = int(now // schedule.every_seconds)
            if self._last_slot.get(schedule.job) == slot:
                continue
            self._last_slot[schedule.job] = slot
            if self.redis is not None and not self.redis.set(
                f"portal:schedule:{schedule.job}:{slot}", "1", nx=True, ex=schedule.every_seconds * 2
            ):
                continue
            self.runner.enqueue(schedule.job)
            started.append(schedule.job)
        return started

    def seconds_to_next(self) -> float:
        now = self.clock()
        return min(s.every_seconds - (now % s.every_seconds) for s in self.schedules) + 0.01

    def run_forever(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            for job in self.tick():
                log.info("enqueued %s", job)
            sleep(self.seconds_to_next())
