"""Lists moved from page numbers to the keyset pattern (`portal.services.paging.keyset`): every
row once, in order, by following the "Older" link; a cursor that cannot be read is a 422."""

from __future__ import annotations

import re
from html import unescape

from portal.extensions import db
from tests.factories import make_cost_center


def _next(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next"', html)
    return unescape(found.group(1)) if found else None


def test_cost_centres_page_by_cursor_in_code_order(world, login_as):
    for i in range(60):
        make_cost_center(world.acme, f"K{i:03d}", name=f"Centre {i}")
    db.session.commit()
    client = login_as(world.user("admin@acme"))
    url, seen, pages = "/cost-centers/", [], 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen.extend(re.findall(r">(K\d{3})<", page.text))
        url, pages = _next(page.text), pages + 1
    assert pages >= 2
    assert seen == [f"K{i:03d}" for i in range(60)]
    assert client.get("/cost-centers/?cursor=bm9wZQ").status_code == 422
