"""E-mails the edge writes itself: invitations to people who have no account yet.

They are rendered here, in the inviting organisation's language (or the current one), and
handed to the one mail function (an outbox row, sent after the commit). The services that
create the invitations know nothing of languages or URLs.
"""

from __future__ import annotations

from flask_babel import force_locale, gettext
from flask_babel import gettext as _

from portal.i18n import day, money, translate
from portal.labels import role_label
from portal.models import Invitation, User
from portal.services.mail import send_mail


def send_invitation_mail(invitation: Invitation, link: str, *, inviter: User) -> None:
    """Email the invitation link, in the inviting organisation's language."""
    org = invitation.organization
    with force_locale(org.locale or "en"):
        roles = ", ".join(role_label(r) for r in invitation.role_list)
        subject = _("%(inviter)s invited you to %(org)s on Portal", inviter=inviter.full_name,
                    org=org.name)
        body = _(
            "Hello %(name)s,\n\n"
            "%(inviter)s invited you to join %(org)s on Portal, the procurement portal, "
            "as: %(roles)s.\n\n"
            "Open this link to choose your password and sign in:\n%(link)s\n\n"
            "The link works once, until %(date)s.\n"
            "If you did not expect this invitation, you can ignore this email.",
            name=invitation.full_name or invitation.email,
            inviter=inviter.full_name,
            org=org.legal_name or org.name,
            roles=roles,
            link=link,
            date=day(invitation.expires_at, "long"),
        )
    send_mail(invitation.email, subject, body)


def invitation_mail(invitation: Invitation, link: str, *, buyer_name: str) -> tuple[str, str]:
    """The subject and body of the invitation email, in the current language."""
    terms = f"{translate(invitation.payment_terms.label())}, {invitation.currency}"
    if invitation.credit_limit is not None:
        terms += ", " + gettext(
            "credit limit %(amount)s",
            amount=money(invitation.credit_limit, invitation.currency),
        )
    subject = gettext("%(buyer)s invites you to Portal as a supplier", buyer=buyer_name)
    greeting = (
        gettext("Hello %(name)s,", name=invitation.full_name)
        if invitation.full_name
        else gettext("Hello,")
    )
    body = "\n\n".join(
        [
            greeting,
            gettext(
                "%(buyer)s invites %(company)s to work with them on Portal, where they send "
                "requests for quotation and purchase orders, and receive invoices.",
                buyer=buyer_name,
                company=invitation.company_name,
            ),
            gettext("Proposed terms: %(terms)s.", terms=terms),
            gettext(
                "Open this link to register your company, or to accept for your company if it "
                "already uses Portal:\n%(link)s",
                link=link,
            ),
            gettext("The link works once, until %(date)s.",
                    date=day(invitation.expires_at)),
        ]
    )
    return subject, body


def send_invitation(invitation: Invitation, link: str, *, buyer_name: str) -> None:
    """Email the invitation link (call after committing: a rolled-back invitation sends nothing)."""
    subject, body = invitation_mail(invitation, link, buyer_name=buyer_name)
    send_mail(invitation.email, subject, body)
