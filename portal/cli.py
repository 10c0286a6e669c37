"""Flask CLI commands: thin wrappers over services, each one transaction."""

from __future__ import annotations

import click
from flask import Flask

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

    @app.cli.command("create-admin")
    @click.option("--company", required=True, help="Short company name")
    @click.option("--legal-name", required=True)
    @click.option("--tax-id", required=True, help="NIP or EU VAT ID")
    @click.option("--country", required=True, help="Two-letter country code, e.g. PL")
    @click.option("--currency", default="PLN", show_default=True, type=click.Choice(["PLN", "EUR"]))
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
        """Remind approvers of waiting steps and escalate overdue ones (run it from cron, e.g.
        hourly). Idempotent: a second run right after the first sends nothing."""
        from sqlalchemy import select

        from portal.models import Organization, OrgKind
        from portal.services.approvals import send_reminders
        from portal.tenancy import TenantScope, bound

        # Organisations are not tenant-owned: listing them needs no scope.
        org_ids = db.session.scalars(
            select(Organization.id).where(Organization.kind == OrgKind.BUYER).order_by(Organization.id)
        ).all()
        reminded = escalated = 0
        for org_id in org_ids:
            # url_for in the notifications needs a request context with the public address.
            with app.test_request_context(base_url=app.config["BASE_URL"]), bound(
                db.session, TenantScope(org_id)
            ):
                try:
                    counts = send_reminders(org_id)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise
            reminded += counts["reminded"]
            escalated += counts["escalated"]
            if counts["reminded"] or counts["escalated"]:
                click.echo(f"Organisation {org_id}: {counts['reminded']} reminded, "
                           f"{counts['escalated']} escalated.")
        click.echo(f"Reminders sent for {reminded} steps; {escalated} escalated.")
