"""Pages at phone width (390×844): nothing scrolls sideways, in English and in Polish (the
longer words). PHONE_PAGES is the list to extend: (who signs in, the page or a way to reach it,
the screenshot's name)."""

from __future__ import annotations

import pytest

from tests.e2e.flows import shot
from tests.e2e.live import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _demo_webhook(page) -> str:
    """The demo's failing endpoint, as the webhooks list links it."""
    page.goto("/admin/webhooks")
    return page.get_by_test_id("webhook-row").first.get_by_role("link").first.get_attribute("href")


# (email, path or a callable page -> path, screenshot name)
PHONE_PAGES = [
    ("admin@acme.example", "/admin/api-tokens", "phone-api-tokens"),
    ("admin@acme.example", "/admin/api-tokens/new", "phone-api-token-new"),
    ("admin@acme.example", "/admin/webhooks", "phone-webhooks"),
    ("admin@acme.example", "/admin/webhooks/new", "phone-webhook-new"),
    ("admin@acme.example", _demo_webhook, "phone-webhook-detail"),
]


def _no_sideways_scroll(page, what: str) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{what}: the page is {width}px wide on a {inner}px screen"


def _checkbox_beside_its_words(page, selector: str, what: str) -> None:
    """Each checkbox's label starts on the checkbox's line (not pushed below it)."""
    pushed = page.evaluate("""selector => [...document.querySelectorAll(selector + ' label')].filter(label => {
        const box = label.querySelector('input').getBoundingClientRect();
        const words = [...label.childNodes].find(n => n.nodeType === 3 && n.textContent.trim());
        const range = document.createRange();
        range.selectNodeContents(words);
        const first = range.getClientRects()[0];
        return first.top >= box.bottom;
    }).map(label => label.textContent.trim())""", selector)
    assert pushed == [], f"{what}: the words start under the checkbox: {pushed}"


# Polish last: Anna (the demo admin) reads Polish, and the live server is shared.
@pytest.mark.parametrize("lang", ["en", "pl"])
def test_the_integration_pages_fit_a_phone(chromium_browser, live_server, tmp_path, lang):
    context = chromium_browser.new_context(viewport=PHONE, locale="en-GB", base_url=live_server)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        signed_in = None
        for email, target, name in PHONE_PAGES:
            if email != signed_in:
                context.clear_cookies()
                sign_in(page, live_server, email)
                with page.expect_navigation():
                    page.click(f"form.lang-switch button[value={lang}]")
                signed_in = email
            path = target(page) if callable(target) else target
            page.goto(path)
            _no_sideways_scroll(page, path)
            if path.endswith("/webhooks/new"):
                _checkbox_beside_its_words(page, "fieldset.events", path)
            shot(page, tmp_path, f"{name}-{lang}")
    finally:
        context.close()
