"""Status words used inside sentences ("this one is blocked"), as messages for the viewer's language.

The capitalised labels for lists and badges are in `portal.labels` (the edge); these are the
lower-case forms a service puts into a refusal, translated when the refusal is shown.
"""

from __future__ import annotations

from portal.domain.messages import N_, Msg

REQUISITION_STATUS_WORDS = {
    "draft": N_("draft"),
    "pending": N_("pending approval"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "cancelled": N_("cancelled"),
    "sourcing": N_("sourcing"),
    "ordered": N_("ordered"),
    "closed": N_("closed"),
}

LINK_STATUS_WORDS = {
    "invited": N_("invited"),
    "active": N_("active"),
    "blocked": N_("blocked"),
}


def requisition_status_word(status) -> Msg:
    """The requisition status as a lower-case word in a sentence."""
    return Msg(REQUISITION_STATUS_WORDS.get(str(status), str(status)))


def link_status_word(status) -> Msg:
    """The supplier link status as a lower-case word in a sentence."""
    return Msg(LINK_STATUS_WORDS.get(str(status), str(status)))
