"""User text in tables: a long unbroken string (a pasted URL, a part number) lands in a cell
that wraps it (`td.text`, app.css) instead of widening the table; every list table is a `cards`
table (a card per row on a phone). Checked on the rendered pages, so a new column or page that
forgets the classes fails here."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from portal.extensions import db
from tests.factories import make_budget, make_cost_center, make_item, make_requisition
from tests.kit import acting_for

LONG = "X" * 150 + "-" + "Y" * 149  # 300 characters, no space

# Every page that lists rows in a table, and who sees it.
LIST_PAGES = [
    ("buyer@acme", "/requisitions/"),
    ("admin@acme", "/requisitions/all"),
    ("admin@acme", "/catalog/"),
    ("admin@acme", "/catalog/categories"),
    ("admin@acme", "/suppliers/"),
    ("admin@acme", "/admin/users"),
    ("admin@acme", "/budgets/"),
    ("admin@acme", "/cost-centers/"),
    ("admin@acme", "/admin/audit"),
    ("sales@nordwind", "/supplier/customers"),
]


class Cells(HTMLParser):
    """Collects the tables of a page (their classes) and, for each text that contains
    `needle`, the classes of its cell and of its table."""

    def __init__(self, needle: str):
        super().__init__()
        self.needle = needle
        self.stack: list[tuple[str, set[str]]] = []
        self.tables: list[set[str]] = []
        self.hits: list[tuple[set[str], set[str]]] = []

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "table":
            self.tables.append(classes)
        if tag in {"table", "td", "th"}:
            self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        if tag in {"table", "td", "th"}:
            while self.stack:
                if self.stack.pop()[0] == tag:
                    break

    def handle_data(self, data):
        if self.needle not in data:
            return
        cell = next((c for t, c in reversed(self.stack) if t in {"td", "th"}), None)
        table = next((c for t, c in reversed(self.stack) if t == "table"), None)
        if cell is not None:
            self.hits.append((cell, table))


def parse(html: str, needle: str = LONG) -> Cells:
    cells = Cells(needle)
    cells.feed(html)
    return cells


@pytest.fixture
def long_world(world):
    """Acme with the long string in every kind of user text a table shows."""
    acme = world.acme
    with acting_for(acme):
        cc = make_cost_center(acme, "LONG", name=LONG[:120], manager=world.user("approver@acme"))
        make_item(acme, "LONG-1", name=LONG[:200], price="10", currency="PLN")
        make_budget(cc, "1000").name = LONG[:120]
        req = make_requisition(world.user("buyer@acme"), cost_center=cc, title=LONG[:200],
                               lines=[(LONG, "1", "10", "23")])
    db.session.commit()
    return req.id


@pytest.mark.parametrize(("email", "path"), LIST_PAGES)
def test_every_list_table_becomes_cards_on_a_phone(long_world, world, login_as, email, path):
    response = login_as(world.user(email)).get(path)
    assert response.status_code == 200
    tables = parse(response.text).tables
    assert tables, f"{path} shows no table (the page or its data changed)"
    assert all("cards" in classes for classes in tables), f"{path}: a table without .cards"


@pytest.mark.parametrize(("email", "path"), [
    ("buyer@acme", "/requisitions/"),
    ("buyer@acme", "/requisitions/{req}"),
    ("buyer@acme", "/requisitions/{req}/edit"),
    ("admin@acme", "/requisitions/all"),
    ("admin@acme", "/catalog/?q=XXXXXXXXXX"),
    ("admin@acme", "/budgets/"),
    ("admin@acme", "/cost-centers/"),
])
def test_long_user_text_wraps_in_its_cell(long_world, world, login_as, email, path):
    response = login_as(world.user(email)).get(path.format(req=long_world))
    assert response.status_code == 200
    found = parse(response.text, LONG[:100])
    assert found.hits, f"{path} does not show the long text in a table"
    for cell, table in found.hits:
        assert "text" in cell, f"{path}: long text in a cell without .text ({cell})"
        assert "cards" in table


def test_a_shortened_title_keeps_the_whole_text_on_hover(long_world, world, login_as):
    html = login_as(world.user("buyer@acme")).get("/requisitions/").text
    assert f'<span class="clip" title="{LONG[:200]}">' in html


# Tables that are not lists: a two-column schedule inside a form preview, the token form's grid of
# scope checkboxes (three narrow columns that fit a phone), and printed documents (a PDF page has
# one width: its tables never turn into cards).
NOT_LISTS = {"suppliers/_terms_preview.html", "admin/integration/api_token_new.html"}
PRINTED = "pdf/"


def test_every_table_template_is_a_cards_table():
    """A new template with a table joins the phone layout by construction (or is named here)."""
    root = Path(__file__).resolve().parents[2] / "portal" / "templates"
    missing = []
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        for tag in re.findall(r"<table\b[^>]*>", path.read_text()):
            classes = re.search(r'class="([^"]*)"', tag)
            listed = name not in NOT_LISTS and not name.startswith(PRINTED)
            if listed and "cards" not in (classes.group(1).split() if classes else []):
                missing.append(f"{name}: {tag}")
    assert missing == []
