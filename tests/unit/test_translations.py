"""The Polish catalogue translates every message in the code and templates."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "portal" / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
# Keep in sync with KEYWORDS in scripts/i18n.
KEYWORDS = {
    "_": None,
    "_l": None,
    "gettext": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
    "N_": None,
}


@functools.cache
def _extracted() -> dict[str, list[str]]:
    """msgid -> where it occurs, extracted from the source exactly as scripts/i18n does."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def test_scripts_i18n_uses_the_same_keywords():
    script = (ROOT / "scripts" / "i18n").read_text()
    keywords = re.search(r"^KEYWORDS=\((.*)\)$", script, re.MULTILINE)
    assert keywords, "KEYWORDS=(...) not found in scripts/i18n"
    names = {kw.split(":")[0] for kw in re.findall(r"-k (\S+)", keywords.group(1))}
    assert names == set(KEYWORDS)


def test_extraction_finds_strings_from_python_and_templates():
    where = [loc for locs in _extracted().values() for loc in locs]
    assert any(loc.startswith("portal/templates/") for loc in where)
    assert any(loc.startswith("portal/") and ".py:" in loc for loc in where)
    assert "Sign in" in _extracted()


def test_every_message_has_a_polish_translation():
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po, locale="pl")
    missing = []
    for msgid, where in sorted(_extracted().items()):
        message = catalogue.get(msgid)
        strings = message.string if message is not None else None
        if isinstance(strings, str):
            strings = (strings,)
        if message is None or message.fuzzy or not strings or not all(strings):
            missing.append(f"{msgid!r} ({where[0]})")
    assert missing == [], (
        f"{len(missing)} messages lack a Polish translation; run scripts/i18n update and "
        "translate portal/translations/pl/LC_MESSAGES/messages.po:\n" + "\n".join(missing)
    )
