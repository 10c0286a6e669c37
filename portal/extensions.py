"""Unbound Flask extensions, bound to the app in create_app()."""

import sqlite3
import time

import orjson
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from limits.storage import MemoryStorage
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class SweptMemoryStorage(MemoryStorage):
    """`portal-memory://`: the limits library's per-process counters without its timer thread.

    `memory://` drops expired counters from a `threading.Timer` of 10 ms that it starts anew on
    the first hit after the last one ran out: under load a new thread per request (a tenth of
    an API list's time, and a thread that competes for the interpreter lock). Here the hit
    that finds a counter expired drops it (the base class's `get` already does, before each
    hit), and one sweep of every expired counter runs inline at most once a second.
    """

    STORAGE_SCHEME = ["portal-memory"]
    SWEEP_EVERY = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY
            self._MemoryStorage__expire_events()


@event.listens_for(Engine, "connect")
def _sqlite_write_ahead_log(dbapi_connection, _record) -> None:
    """SQLite files: write-ahead log, synced at checkpoints rather than at every commit.

    The default rollback journal creates, syncs and deletes a file on every commit (about a
    third of the write path's CPU on SQLite); in WAL mode a commit appends to the log, and
    readers no longer wait for a writer (gunicorn's workers). `synchronous=NORMAL` is WAL's
    documented companion: a power cut may lose the last commits, never corrupt the file.
    In-memory databases keep their own journal (the pragma answers "memory").
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode not in ("wal", "memory"):
            mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.OperationalError:
        pass  # another connection holds the file (the switch needs it alone): the next one switches
    finally:
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _begin_before_a_first_savepoint(conn, name) -> None:
    """SQLite: open the transaction before a SAVEPOINT that would otherwise start it.

    Python's sqlite3 emits BEGIN only before a data-changing statement; a SAVEPOINT run first
    (bulk approval's per-item `begin_nested()`) then starts the transaction itself, and its
    RELEASE commits everything for good: a later rollback of the action would undo nothing
    (its notifications and their outbox e-mails included).
    """
    dbapi_connection = conn.connection.dbapi_connection
    if isinstance(dbapi_connection, sqlite3.Connection) and not dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")


# A statement's execution option (`select(...).execution_options(**PREPARED)`): on PostgreSQL it
# runs as a server-side prepared statement (`prepare_marked_statements`).
PREPARED = {"prepared": True}


def prepare_marked_statements(engine: Engine) -> None:
    """On PostgreSQL (psycopg), prepare exactly the statements marked `PREPARED`, no others.

    A prepared statement is parsed once per connection, and after five runs PostgreSQL may plan
    it once for every parameter value (a generic plan): the statement then costs no planning
    (the API token's lookup: 0.4-1.5 ms of planning, 0.1 ms of execution). A generic plan is
    chosen by average selectivity, which rows skewed by tenant defeat: on the bench's 1M data a
    generic plan took 418 ms instead of 0.4 for the large buyer's `?status=approved`
    requisitions, and 47 ms instead of 0.3 for a page of the large supplier's invoices (5 000
    suppliers: 2 rows estimated, 16 832 sorted). So no statement is prepared unless marked
    (psycopg would prepare any statement run five times on a connection), and only lookups
    by a unique key are marked (the session's user, an API token): their every plan is that
    key's index.
    """
    if engine.dialect.driver != "psycopg":
        return
    from psycopg import ServerCursor

    @event.listens_for(engine, "do_execute")
    def _prepare_marked_only(cursor, statement, parameters, context):
        if isinstance(cursor, ServerCursor):
            return None  # a streamed read (yield_per): DECLARE, never prepared
        cursor.execute(statement, parameters, prepare=bool(context.execution_options.get("prepared")))
        return True


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider (`app.json`), writing with orjson: the same documents, in UTF-8
    rather than with `\\uXXXX` escapes, at a tenth of the cost (a 50-row API list page spent
    ~5 % of its time in `json.dumps`). What orjson leaves to Flask stays Flask's: dates and
    datetimes (HTTP dates, `DefaultJSONProvider.default`), decimals, UUIDs, dataclasses and
    `__html__`. Anything orjson refuses (an integer beyond 64 bits, a non-string key it cannot
    write, custom `dumps` arguments) is written by Flask's provider as before. Reading is
    Flask's."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS

    def _write(self, obj, indent: bool = False) -> bytes:
        options = self._OPTIONS | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        return orjson.dumps(obj, default=self.default, option=options | (orjson.OPT_INDENT_2 if indent else 0))

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        try:
            return self._write(obj).decode()
        except TypeError:  # orjson.JSONEncodeError
            return super().dumps(obj)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        indent = (self.compact is None and self._app.debug) or self.compact is False
        try:
            body = self._write(obj, indent=indent)
        except TypeError:
            return super().response(*args, **kwargs)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)
