"""The benchmark suite (`./scripts/bench`): page throughput and latency under gunicorn against a
bare reference page measured in the same run, the scale curve, worker memory, import time and
the write path. Plain scripts, not tests: timings never go into the test suite."""
