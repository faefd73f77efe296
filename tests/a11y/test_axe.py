"""axe-core (vendored in tests/a11y/vendor, with its licence) finds no violation of any impact on
the pages learners and staff use every day, at 1280×800 and 390×844: the catalog, a course page
showing a coupon error, sign-up with errors, checkout success and cancel, the dashboard, a
lecture, a certificate, the sandbox's hosted checkout page, and the staff pages.

One server and one browser for all of it (tests/a11y/world.py builds the data); every
violation of every page is listed at the end, so one run shows all there is to fix.
"""
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.a11y import world

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def violations(page) -> list[str]:
    """axe's violations on the page as it is now, one line per rule with the elements it found."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                          ".map(v => `${v.impact} ${v.id}: ${v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(', ')}`"
                          " + ` (${v.help})`)")
    return found


def test_no_axe_violations_on_the_everyday_pages(live_server, browser):
    data = world.build(live_server)
    report: list[str] = []

    def check(page, name: str, size: str) -> None:
        report.extend(f"[{size}] {name}: {line}" for line in violations(page))

    for size, viewport in VIEWPORTS.items():
        # Visitors: sign-up with errors.
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(live_server.url + data["pages"]["signup"])
        page.get_by_role("button", name="Create account").click()
        expect(page.locator(".error").first).to_be_visible()
        check(page, "sign-up with errors", size)
        context.close()

        context, page = world.signed_in(browser, live_server, world.LEARNER, viewport)
        for name, path in data["pages"].items():
            if name == "signup":
                continue
            page.goto(live_server.url + path)
            if name == "course":
                page.get_by_label("Coupon code").fill("nope")
                page.get_by_label("Coupon code").press("Enter")
                expect(page.get_by_role("alert").first).to_be_visible()
            check(page, name, size)
        page.goto(data["hosted"])
        check(page, "sandbox hosted page", size)
        context.close()

        context, page = world.signed_in(browser, live_server, world.STAFF, viewport)
        for name, path in data["staff_pages"].items():
            page.goto(live_server.url + path)
            check(page, f"staff {name}", size)
        context.close()

    assert not report, "axe found:\n" + "\n".join(report)
