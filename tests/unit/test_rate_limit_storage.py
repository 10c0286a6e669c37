"""The per-process rate-limit store (`portal-memory://`): the limits library's counters, with
expired ones swept inline instead of by a timer thread started on every hit."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from portal.extensions import SweptMemoryStorage


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: now[0])
    monkeypatch.setattr("portal.extensions.time.monotonic", lambda: now[0])
    return now


def test_the_scheme_names_the_swept_store():
    assert isinstance(storage_from_string("portal-memory://"), SweptMemoryStorage)


def test_counts_refuse_over_the_limit_and_start_again_after_the_window(clock):
    limiter = FixedWindowRateLimiter(storage_from_string("portal-memory://"))
    limit = parse("3 per 10 seconds")
    assert [limiter.hit(limit, "token-1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(limit, "token-2")  # counters are per key
    clock[0] += 11
    assert limiter.hit(limit, "token-1")


def test_hits_start_no_thread_and_the_sweep_drops_expired_counters(clock):
    storage = storage_from_string("portal-memory://")
    limiter = FixedWindowRateLimiter(storage)
    limit = parse("100 per 1 second")
    threads = threading.active_count()
    for key in range(50):
        limiter.hit(limit, f"key-{key}")
    assert threading.active_count() <= threads
    clock[0] += 5  # every counter has expired; the next hit sweeps them all
    limiter.hit(limit, "fresh")
    assert set(storage.storage) == {next(k for k in storage.storage if "fresh" in k)}
