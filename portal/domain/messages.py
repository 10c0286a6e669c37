"""User-facing messages from pure code, translated later by the caller.

`N_` marks a string for extraction into the catalogue without translating it here (the domain
knows nothing of the request's language). `Msg` carries the text and its parameters; the web
layer renders it with `portal.i18n.translate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def N_(text: str) -> str:  # noqa: N802 - the gettext convention
    return text


@dataclass(frozen=True)
class Msg:
    text: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text
