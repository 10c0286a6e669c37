"""Take docs/screenshot.png: the dashboard of admin@acme.example, 1280x800, headless Chromium.

    .venv/bin/python scripts/screenshot.py [--email admin@acme.example] [--lang en] [--out PATH]

Starts its own throwaway server (tests/e2e/live.py), so the running portal is not touched.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e import live  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--email", default="admin@acme.example")
    parser.add_argument("--lang", default="en", choices=["en", "pl"])
    parser.add_argument("--path", default="/", help="page to capture after signing in")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        live.live_server(Path(tmp)) as base_url,
        live.chromium() as browser,
    ):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
        page = context.new_page()
        live.sign_in(page, base_url, args.email)
        page.click(f"form.lang-switch button[value={args.lang}]")
        page.wait_for_selector(f"html[lang={args.lang}]")
        if args.path != "/":
            page.goto(base_url + args.path)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        context.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
