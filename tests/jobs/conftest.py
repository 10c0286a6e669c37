"""Job tests: a recording runner, and a real Redis for the RQ path (tests/jobs/fixtures.py)."""

from __future__ import annotations

import pytest

from portal.jobs import runner_for, set_runner
from tests.jobs.fixtures import queue_name_fixture, redis_fixture, redis_url_fixture  # noqa: F401


class Held:
    """A runner that only records what it was given (a process that died before delivering)."""

    def __init__(self):
        self.jobs: list[tuple] = []

    def enqueue(self, name, *args):
        self.jobs.append((name, *args))


@pytest.fixture
def held(app):
    previous = runner_for(app)
    runner = Held()
    set_runner(app, runner)
    yield runner
    set_runner(app, previous)


