"""A real Redis for the RQ tests (shared with tests/services/test_reminders.py).

The Redis is TEST_REDIS_URL (scripts/test and .ci/run export it when they start a private
server), else database 15 of the server on 127.0.0.1:6379. Nothing is flushed: each test uses
its own queue name (parallel test workers share the database) and deletes its queue after.
Without a Redis that answers, these tests skip and say why.
"""

from __future__ import annotations

import os
import uuid

import pytest

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session", name="redis_url")
def redis_url_fixture():
    from redis import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    try:
        Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError as exc:
        pytest.skip(f"no Redis answers at {url} ({exc}); scripts/test starts one when redis-server is installed")
    return url


@pytest.fixture(name="redis")
def redis_fixture(redis_url):
    from redis import Redis

    connection = Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture(name="queue_name")
def queue_name_fixture(redis):
    """A queue of this test's own; deleted with its jobs afterwards."""
    from rq import Queue

    name = f"portal-test-{uuid.uuid4().hex[:12]}"
    yield name
    Queue(name, connection=redis).delete(delete_jobs=True)
