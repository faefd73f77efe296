"""A real browser signs in through the OpenID provider, then creates and revokes an API token."""
import re

import pytest
from playwright.sync_api import expect

from extensions import db
from models import ApiToken, User


@pytest.mark.browser
def test_sign_in_with_the_provider_and_manage_tokens(live_server, page, oidc_provider):
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url(re.compile(re.escape(oidc_provider.issuer) + r"/oauth2/authorize"))
    page.get_by_role("button", name="alice-sub").click()  # the provider's consent page
    page.wait_for_url(f"{live_server.url}/courses")
    expect(page.get_by_text("Signed in as alice@example.com")).to_be_visible()

    page.goto(f"{live_server.url}/account")
    page.get_by_label("Token name").fill("Browser script")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("lp_")
    page.goto(f"{live_server.url}/account")
    assert page.locator("#new-token").count() == 0  # shown once
    expect(page.get_by_text(token[:10] + "…")).to_be_visible()
    page.get_by_role("button", name="Revoke token Browser script").click()
    expect(page.get_by_text("You have no API tokens.")).to_be_visible()

    user = db.session.scalar(db.select(User).where(User.oidc_subject == "alice-sub"))
    assert user.email == "alice@example.com"
    assert db.session.scalar(db.select(ApiToken.revoked_at)) is not None
