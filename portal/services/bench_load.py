"""Bulk loading for the benchmark world (services.bench_seed): the cheapest plain path on each
database, inside the caller's transaction.

SQLite takes the driver's `executemany` with plain tuples; PostgreSQL takes `COPY … FROM STDIN`
(psycopg 3). While the rows go in, the loaded tables' secondary indexes (and, on PostgreSQL, their
foreign keys) are dropped; they are created again afterwards from the definitions the database
itself reported, so the schema ends exactly as it began. One sort per index over the loaded
table costs a fraction of growing a dozen indexes row by row, and one join per foreign key a
fraction of a trigger per row.

Values arrive already in the form the column stores (`Exact` amounts as scaled integers on
SQLite and decimal text on PostgreSQL, timestamps as text, JSON as text): the generator renders
each distinct value once instead of SQLAlchemy's bind processing per cell.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class Loader:
    """Writes rows of the tables named at construction; `finish()` puts back what `__init__`
    took away (indexes, foreign keys, connection settings). Not reusable."""

    def __init__(self, conn, tables: list[str]):
        self.conn, self.tables = conn, tables
        self.raw = conn.connection.dbapi_connection
        self.postgresql = conn.dialect.name == "postgresql"
        self.indexes: list[tuple[str, str]] = []
        self.foreign_keys: list[tuple[str, str, str]] = []
        self.settings: dict[str, object] = {}
        self._suspend()

    # Values in the stored form -----------------------------------------------------------
    @property
    def timestamp_suffix(self) -> str:
        """What follows HH:MM:SS in a stored UTC timestamp (SQLAlchemy's SQLite format)."""
        return "+00" if self.postgresql else ".000000"

    def fixed(self, value: int, scale: int):
        """An `Exact` amount given as an integer of 10^-scale units: SQLite stores exactly that
        integer, PostgreSQL the decimal text."""
        return fixed_text(value, scale) if self.postgresql else value

    # Writing ------------------------------------------------------------------------------
    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if self.postgresql:
            with self.raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608

    # Suspending and restoring -------------------------------------------------------------
    def _suspend(self) -> None:
        run = self._sql
        if self.postgresql:
            # Local to this transaction: the final commit need not wait for the disk, and the
            # index builds at the end sort in memory.
            run("SET LOCAL synchronous_commit = off")
            run("SET LOCAL maintenance_work_mem = '256MB'")
            self.indexes = [tuple(r) for r in run(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%(tables)s) "
                "AND t.relnamespace = current_schema()::regnamespace AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
                "ORDER BY 1", {"tables": self.tables})]
            self.foreign_keys = [tuple(r) for r in run(
                "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relname = ANY(%(tables)s) "
                "AND t.relnamespace = current_schema()::regnamespace ORDER BY 1, 2", {"tables": self.tables})]
            for table, name, _ in self.foreign_keys:
                run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in self.indexes:
                run(f"DROP INDEX {name}")
            return
        if not self.raw.in_transaction:
            # Python's sqlite3 would run the DROP INDEXes below outside any transaction.
            run("BEGIN")
        for pragma, value in (("cache_size", "-262144"),):
            self.settings[pragma] = run(f"PRAGMA {pragma}").scalar()
            run(f"PRAGMA {pragma} = {value}")
        marks = ", ".join("?" * len(self.tables))
        # Indexes with stored SQL: the autoindexes of UNIQUE constraints have none and stay.
        self.indexes = [tuple(r) for r in run(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "  # noqa: S608
            f"AND tbl_name IN ({marks}) ORDER BY name", tuple(self.tables))]
        for name, _ in self.indexes:
            run(f'DROP INDEX "{name}"')

    def _sql(self, statement: str, parameters=None):
        """Statements on the loaded tables' own indexes, foreign keys and this connection's
        settings, never on company data."""
        return self.conn.exec_driver_sql(statement, parameters)

    def finish(self) -> None:
        """Create the dropped indexes and foreign keys again and restore the settings."""
        run = self._sql
        for _, definition in self.indexes:
            run(definition)
        for table, name, definition in self.foreign_keys:
            run(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for pragma, value in self.settings.items():
            run(f"PRAGMA {pragma} = {value}")
        self.indexes, self.foreign_keys, self.settings = [], [], {}


def fixed_text(value: int, scale: int) -> str:
    """`value` × 10^-scale as decimal text with `scale` places ("-12.30" from -1230, 2)."""
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 10 ** scale)
    return f"{sign}{whole}.{part:0{scale}d}"


class Clock:
    """Stored timestamps and dates from whole UTC seconds since the epoch, by two table lookups
    (day, time of day) instead of a datetime and a strftime per value."""

    def __init__(self, first: datetime, last: datetime, suffix: str):
        day = datetime(first.year, first.month, first.day, tzinfo=first.tzinfo)
        self.origin = int(day.timestamp())
        days = (last - day).days + 2
        self.dates = [(day + timedelta(days=n)).date().isoformat() for n in range(days)]
        self.times = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]

    def at(self, seconds: int) -> str:
        day, second = divmod(seconds - self.origin, 86400)
        if day < 0:
            raise ValueError("a timestamp before the clock's first day")
        return self.dates[day] + self.times[second]

    def date(self, seconds: int) -> str:
        return self.dates[(seconds - self.origin) // 86400]
