# Redis for the job tests, sourced by scripts/test and .ci/run (not run on its own).
#
#   test_redis_start   exports TEST_REDIS_URL: the caller's own, else the server on
#                      127.0.0.1:6379 (database 15) when it answers, else a private server
#                      on a free port (Debian's redis-server, installed by scripts/setup
#                      --redis when missing), keeping nothing on disk
#   test_redis_stop    stops the private server, by its pid (call it from an EXIT trap)

TEST_REDIS_PIDFILE=""
TEST_REDIS_DIR=""

# PING over bash's /dev/tcp: needs neither redis-cli nor the virtualenv.
redis_answers() {
    local host=$1 port=$2
    (
        exec 9<>"/dev/tcp/$host/$port" || exit 1
        printf 'PING\r\n' >&9
        IFS= read -r -t 2 reply <&9 || exit 1
        [ "${reply%$'\r'}" = "+PONG" ]
    ) 2>/dev/null
}

test_redis_start() {
    if [ -n "${TEST_REDIS_URL:-}" ]; then
        return 0
    fi
    if redis_answers 127.0.0.1 6379; then
        export TEST_REDIS_URL="redis://127.0.0.1:6379/15"
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        ./scripts/setup --redis --no-db >&2 || true
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "test: no Redis and no redis-server: the job tests that need Redis will skip" >&2
        return 0
    fi
    local port
    local py=python3
    [ -x .venv/bin/python ] && py=.venv/bin/python
    port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    TEST_REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/portal-redis.XXXXXX")
    TEST_REDIS_PIDFILE="$TEST_REDIS_DIR/redis.pid"
    redis-server --save '' --appendonly no --bind 127.0.0.1 --port "$port" --dir "$TEST_REDIS_DIR" \
        --daemonize yes --pidfile "$TEST_REDIS_PIDFILE" --logfile "$TEST_REDIS_DIR/redis.log" >/dev/null
    local tries=0
    until redis_answers 127.0.0.1 "$port"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 50 ]; then
            echo "test: the private redis-server did not start (see $TEST_REDIS_DIR/redis.log)" >&2
            return 0
        fi
        sleep 0.1
    done
    echo "test: private Redis on 127.0.0.1:$port" >&2
    export TEST_REDIS_URL="redis://127.0.0.1:$port/15"
}

test_redis_stop() {
    if [ -n "$TEST_REDIS_PIDFILE" ] && [ -f "$TEST_REDIS_PIDFILE" ]; then
        kill "$(cat "$TEST_REDIS_PIDFILE")" 2>/dev/null || true
    fi
    if [ -n "$TEST_REDIS_DIR" ]; then
        rm -rf "$TEST_REDIS_DIR"
    fi
    TEST_REDIS_PIDFILE=""
    TEST_REDIS_DIR=""
}
