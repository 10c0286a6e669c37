"""Flask CLI commands: thin wrappers over services, each one transaction."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.errors import DomainError
from portal.extensions import db
from portal.tenancy import system


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create or complete the demo world (idempotent)."""
        from portal.services.demo import seed_demo

        with system(db.session):
            world = seed_demo()
            db.session.commit()
        click.echo(
            f"Demo world ready: {len(world['orgs'])} organisations, {len(world['users'])} users "
            "(password portal-demo-2026)."
        )

    @app.cli.command("seed-bench")
    @click.option("--requisitions", "count", type=int, required=True, help="Requisitions of the large company")
    @click.option("--noise-companies", type=int, default=20, show_default=True)
    @click.option("--batch-size", type=int, default=20000, show_default=True, help="Requisitions written at a time")
    @click.option("--documents", type=int, default=3, show_default=True,
                  help="Orders whose PDF is rendered and stored (the bench downloads them)")
    def seed_bench_command(count, noise_companies, batch_size, documents):
        """Build the benchmark world: the demo's Acme with N requisitions in every state (bulk
        inserts), plus small noise companies. Run it once on an empty database."""
        import time

        from portal.services.bench_seed import refresh_statistics, seed_bench

        started = time.perf_counter()
        with system(db.session):
            result = seed_bench(count, noise_companies=noise_companies, batch_size=batch_size, documents=documents)
            db.session.commit()
        with db.engine.connect() as conn:
            refresh_statistics(conn.execution_options(isolation_level="AUTOCOMMIT"))
        rows = sum(result["rows"].values())
        click.echo(f"Bench world ready: {count} requisitions, {rows} rows in "
                   f"{time.perf_counter() - started:.1f} s (long timeline: requisition {result['long_timeline_id']}).")

    @app.cli.command("create-admin")
    @click.option("--company", required=True, help="Short company name")
    @click.option("--legal-name", required=True)
    @click.option("--tax-id", required=True, help="NIP or EU VAT ID")
    @click.option("--country", required=True, help="Two-letter country code, e.g. PL")
    @click.option("--currency", default="PLN", show_default=True, help="ISO 4217 code, e.g. PLN or EUR")
    @click.option("--locale", default="pl", show_default=True, type=click.Choice(["pl", "en"]))
    @click.option("--email", required=True)
    @click.option("--name", "full_name", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    def create_admin_command(company, legal_name, tax_id, country, currency, locale, email, full_name, password):
        """Create a buying organisation and its first admin for a real installation."""
        from portal.models import OrgKind
        from portal.services import orgs, users

        try:
            with system(db.session):
                org = orgs.create_organization(
                    kind=OrgKind.BUYER, name=company, legal_name=legal_name, tax_id=tax_id,
                    country=country, currency=currency, locale=locale,
                )
                users.create_user(
                    org, email=email, full_name=full_name, roles=["admin", "buyer", "approver"],
                    password=password, min_length=app.config["PASSWORD_MIN_LENGTH"], locale=locale,
                )
                db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc.message)) from exc
        click.echo(f"Created {legal_name} with admin {email}.")

    @app.cli.command("send-reminders")
    def send_reminders_command():
        """Remind approvers of waiting steps and escalate overdue ones (an alias of `flask jobs
        run send-reminders`). Idempotent: a second run right after the first sends nothing."""
        _run_reminders()

    app.cli.add_command(jobs_group)
    app.cli.add_command(invoices_group)
    app.cli.add_command(api_group)


def _run_reminders() -> None:
    from portal.jobs.reminders import send_reminders

    reminded = escalated = 0
    for org_id, counts in send_reminders():
        reminded += counts["reminded"]
        escalated += counts["escalated"]
        if counts["reminded"] or counts["escalated"]:
            click.echo(f"Organisation {org_id}: {counts['reminded']} reminded, "
                       f"{counts['escalated']} escalated.")
    click.echo(f"Reminders sent for {reminded} steps; {escalated} escalated.")


@click.group("invoices")
def invoices_group():
    """Invoicing: the monthly run of consolidated drafts."""


@invoices_group.command("draft-monthly")
@click.option("--month", "period", default=None, metavar="YYYY-MM",
              help="The month to invoice (default: last month). It must be over.")
@with_appcontext
def draft_monthly_command(period: str | None):
    """Draft each monthly-invoicing supplier's consolidated invoice per buyer for a month, on the
    job runner (idempotent: a second run for the same month drafts nothing)."""
    from portal.jobs import runner_for
    from portal.jobs.runner import InProcessRunner, run_job
    from portal.services import clock
    from portal.services.clock import today_for
    from portal.services.invoicing.monthly import MonthlyRunError, last_month, parse_period

    today = today_for(None, clock.now())
    period = (period or last_month(today)).strip()
    try:
        parse_period(period, today=today)
    except MonthlyRunError as exc:
        raise click.ClickException(str(exc.message)) from exc
    runner = runner_for()
    if not isinstance(runner, InProcessRunner):
        runner.enqueue("draft-monthly-invoices", period)
        click.echo(f"Monthly invoices for {period}: queued on the job workers.")
        return
    results = run_job("draft-monthly-invoices", period)
    for supplier_id, drafted in results:
        click.echo(f"Supplier {supplier_id}: {drafted} draft(s).")
    click.echo(f"Monthly invoices for {period}: {sum(d for _s, d in results)} draft(s) for "
               f"{len(results)} supplier(s).")


@click.group("jobs")
def jobs_group():
    """Background jobs: the RQ worker, the scheduler, running one job, the outbox."""


@jobs_group.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process (no fork per job).")
@with_appcontext
def worker_command(burst: bool, simple: bool):
    """Run an RQ worker on REDIS_URL's queue (JOBS_QUEUE)."""
    from redis import Redis
    from rq import Queue

    from portal.jobs.runner import worker_class

    config = current_app.config
    if not config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without it jobs run in-process, no worker is needed.")
    connection = Redis.from_url(config["REDIS_URL"])
    # Each forked job opens its own database connections: none may be shared with the parent.
    db.engine.dispose()
    worker = worker_class(simple=simple, burst=burst)(
        [Queue(config["JOBS_QUEUE"], connection=connection)], connection=connection)
    worker.work(burst=burst, with_scheduler=False)


@jobs_group.command("schedule")
@with_appcontext
def schedule_command():
    """Enqueue the periodic jobs (outbox sweep every minute, reminders hourly), forever."""
    from portal.jobs import runner_for
    from portal.jobs.schedule import SCHEDULES, Scheduler

    runner = runner_for()
    redis = getattr(runner, "connection", None)
    click.echo("Scheduling: " + ", ".join(f"{s.job} every {s.every_seconds}s" for s in SCHEDULES))
    Scheduler(runner, redis=redis).run_forever()


@jobs_group.command("run")
@click.argument("name")
@click.argument("args", nargs=-1)
@with_appcontext
def run_command(name: str, args: tuple[str, ...]):
    """Run one job now, in this process (for cron, or by hand): outbox-sweep, send-reminders,
    deliver-outbox ID."""
    from portal.jobs import JOBS, run_job

    if name not in JOBS:
        raise click.ClickException(f"Unknown job {name!r}. Jobs: {', '.join(sorted(JOBS))}.")
    if name == "send-reminders":
        _run_reminders()
        return
    result = run_job(name, *args)
    click.echo(f"{name}: {result}")


@jobs_group.command("outbox")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed"]), default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--retry", "retry", is_flag=True, help="Queue the failed messages again (all, or --id).")
@click.option("--id", "outbox_id", type=int, default=None)
@with_appcontext
def outbox_command(status, limit, retry, outbox_id):
    """List the newest outbox messages (status, attempts, last error); retry failed ones."""
    from portal.jobs.outbox import listing, retry_failed

    if retry:
        click.echo(f"{retry_failed(outbox_id)} message(s) queued again.")
        return
    rows = listing(status, limit)
    if not rows:
        click.echo("The outbox is empty.")
    for row in rows:
        to = (row.payload or {}).get("to") or f"user {(row.payload or {}).get('user_id')}"
        line = (f"{row.id:>6}  {row.status:<8} attempts={row.attempts}  {row.kind}  to {to}  "
                f"created {row.created_at:%Y-%m-%d %H:%M}")
        if row.status in ("pending", "failed") and row.attempts:
            line += f"  next {row.next_attempt_at:%Y-%m-%d %H:%M}  error: {row.last_error}"
        click.echo(line)


@click.group("api")
def api_group():
    """The REST API (/api/v1): its tokens."""


@api_group.group("token")
def api_token_group():
    """API tokens: create (the secret printed once), revoke, list."""


def _org_admin(org_id: int, preferred=None):
    """Who acts for the organisation: `preferred` if it is an active admin there, else its first
    active admin (the CLI is run by the operator, on the organisation's behalf)."""
    from sqlalchemy import select

    from portal.models import User
    from portal.policies import can

    if preferred is not None and preferred.is_active and can(preferred, "integration.manage"):
        return preferred
    people = db.session.scalars(select(User).where(
        User.organization_id == org_id, User.is_active_flag.is_(True)).order_by(User.id))
    found = next((p for p in people if can(p, "integration.manage")), None)
    if found is None:
        raise click.ClickException("The organisation has no active admin to issue the token.")
    return found


@api_token_group.command("create")
@click.option("--email", required=True, help="The user the token acts as (its organisation's data, its roles).")
@click.option("--name", required=True, help="What uses the token, e.g. ERP.")
@click.option("--scopes", default="all", show_default=True,
              help="all, or a comma-separated list such as invoices:read,orders:write.")
@click.option("--expires", default=None, metavar="YYYY-MM-DD",
              help="Last day the token works (ends at midnight in the organisation's time zone).")
@with_appcontext
def api_token_create_command(email: str, name: str, scopes: str, expires: str | None):
    """Create an API token and print its secret (shown only this once)."""
    from datetime import date

    from sqlalchemy import func, select

    from portal.models import User
    from portal.services.integration import tokens

    with system(db.session):
        try:
            user = db.session.scalars(select(User).where(
                func.lower(User.email) == email.strip().lower())).first()
            if user is None:
                raise click.ClickException(f"No user {email}.")
            try:
                day = date.fromisoformat(expires) if expires else None
            except ValueError as exc:
                raise click.ClickException("--expires takes a date such as 2027-12-31.") from exc
            token, secret = tokens.issue_token(
                _org_admin(user.organization_id, user), name=name, scopes=tokens.parse_scopes(scopes),
                user=user, expires_at=tokens.expiry_at(day, user.organization))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc.message)) from exc
        except click.ClickException:
            db.session.rollback()
            raise
        click.echo(f"Token {token.id} \u201c{token.name}\u201d of {user.organization.name}, acting as "
                   f"{user.email}; scopes: {', '.join(token.scopes)}"
                   + (f"; valid until {expires}." if expires else "."))
        click.echo("Store the secret now: it is not shown again.")
        click.echo(secret)


@api_token_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def api_token_revoke_command(token_id: int):
    """Revoke an API token by its id (see `flask api token list`)."""
    from portal.models.integration import ApiToken
    from portal.services.integration import tokens

    with system(db.session):
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise click.ClickException(f"No API token {token_id}.")
        if token.revoked_at is not None:
            click.echo(f"Token {token_id} \u201c{token.name}\u201d was already revoked.")
            return
        try:
            tokens.revoke_token(_org_admin(token.organization_id, token.created_by), token)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc.message)) from exc
        click.echo(f"Token {token_id} \u201c{token.name}\u201d is revoked.")


@api_token_group.command("list")
@with_appcontext
def api_token_list_command():
    """Every organisation's API tokens: id, organisation, name, start of the secret, who it acts
    as, status, last use."""
    from sqlalchemy import select

    from portal.models.integration import ApiToken
    from portal.services.integration import tokens

    with system(db.session):
        found = list(db.session.scalars(select(ApiToken).order_by(ApiToken.organization_id, ApiToken.id)))
        if not found:
            click.echo("No API tokens.")
        for token in found:
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            click.echo(f"{token.id:>5}  {token.user.organization.name}  "
                       f"{token.name}  {token.prefix}\u2026  as {token.user.email}  "
                       f"{tokens.state_of(token)}  last used {used}")
