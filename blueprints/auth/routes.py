"""Routes of the auth blueprint: /signup, /login, /logout, OpenID Connect sign-in, /account,
password change and reset by email."""
import logging
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from joserfc.errors import JoseError
from requests import RequestException

from blueprints import throttle
from blueprints.auth import oidc, signin
from blueprints.auth.forms import (ApiTokenForm, ChangePasswordForm, ForgotPasswordForm, ResetPasswordForm,
                                   SignInForm, SignUpForm)
from blueprints.forms import EmptyForm, errors_onto, rule_errors_onto
from extensions import db
from jobs import enqueue_or_run, tasks
from models import utcnow
from services.people import accounts, api_tokens, identity, sessions
from services.referrals import links as referral_links, rewards as referral_rewards
from services.errors import DomainError

log = logging.getLogger(__name__)
OIDC_NEXT_KEY = "oidc_next"
TOO_MANY_SIGN_INS = "Too many failed sign-in attempts. Wait a few minutes, then try again."
TOO_MANY_SIGN_UPS = "Too many accounts were created from this address. Try again in an hour."

bp = Blueprint("auth", __name__)


def safe_next_url(default_endpoint: str = "catalog.index") -> str:
    """The `next` parameter when it is a path on this site, else the default (no open redirects)."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme \
            and "\\" not in target:
        return target
    return url_for(default_endpoint)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("catalog.index"))
    form = SignUpForm()
    if form.is_submitted():
        # The form's checks and the account rules together: one submit shows every mistake.
        form.validate()
        rule_errors_onto(form, {p.field: p.message for p in accounts.sign_up_problems(
            form.email.data or "", form.password.data or "")}, "email")
    if form.is_submitted() and not form.errors:
        if not _sign_up_allowed():
            form.email.errors.append(TOO_MANY_SIGN_UPS)
            return render_template("auth/signup.html", form=form), 429
        try:
            user = accounts.create_user(form.email.data, form.name.data, form.password.data)
        except DomainError as error:
            errors_onto(form, error, "email")
        else:
            signin.sign_in(user)
            db.session.commit()
            flash("Welcome to Learnpay! Your account is ready.", "success")
            return redirect(safe_next_url())
    return render_template("auth/signup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next_url())
    form = SignInForm()
    if form.validate_on_submit():
        keys = _sign_in_keys(form.email.data)
        # Checked before the password, so guessing stops at the limit; only failures count.
        if throttle.exhausted("sign-in", "SIGN_IN_RATE_LIMIT", keys):
            form.password.errors.append(TOO_MANY_SIGN_INS)
            return render_template("auth/login.html", form=form), 429
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.hit("sign-in", "SIGN_IN_RATE_LIMIT", keys)
            form.password.errors.append("That email and password do not match an account.")
        else:
            signin.sign_in(user, remember=form.remember.data)
            db.session.commit()
            return redirect(safe_next_url())
    return render_template("auth/login.html", form=form)


def _sign_in_keys(email: str) -> throttle.Keys:
    # Per address (one machine trying many accounts) and per account (many machines, one account).
    return [throttle.address_key(), ("email", (email or "").strip().lower())]


def _sign_up_allowed() -> bool:
    return throttle.hit("sign-up", "SIGN_UP_RATE_LIMIT", [throttle.address_key()])


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        signin.sign_out()  # this session ends on every copy of its cookies, not only here
        db.session.commit()
        flash("You are signed out.", "info")
    return redirect(url_for("catalog.index"))


@bp.route("/login/oidc")
def oidc_login():
    """Send the browser to the identity provider (state, nonce and PKCE are kept in the session)."""
    if not oidc.is_configured():
        abort(404)
    session[OIDC_NEXT_KEY] = safe_next_url()
    try:
        # On FRONTEND_URL: a redirect_uri built from the request's Host would be the client's choice.
        redirect_uri = current_app.config["FRONTEND_URL"] + url_for("auth.oidc_callback")
        return oidc.client().authorize_redirect(redirect_uri)
    except (OAuthError, RequestException, ValueError) as error:
        log.warning("OIDC discovery failed: %s", error)
        flash(f"Sign-in with {current_app.config['OIDC_PROVIDER_NAME']} is unavailable right now.", "error")
        return redirect(url_for("auth.login"))


@bp.route("/login/oidc/callback")
def oidc_callback():
    """Back from the provider: check state, exchange the code (with the PKCE verifier), verify the
    ID token (signature, iss, aud, exp, nonce), then create or update the user and sign in."""
    if not oidc.is_configured():
        abort(404)
    try:
        client = oidc.client()
        token = client.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        if "email" not in claims:  # some providers put profile claims only in the UserInfo response
            extra = client.userinfo(token=token)
            if extra.get("sub") == claims.get("sub"):
                claims = {**extra, **claims}
        user = identity.user_from_claims(current_app.config["OIDC_ISSUER"], claims,
                                         staff_claim=current_app.config.get("OIDC_STAFF_CLAIM"))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("auth.login"))
    except (AuthlibBaseError, JoseError, RequestException, ValueError, KeyError) as error:
        # Bad or replayed state, a refused consent, an ID token that does not verify (signature,
        # iss, aud, exp, nonce; Authlib checks them with joserfc): never sign in.
        db.session.rollback()
        log.warning("OIDC sign-in refused: %s", error)
        flash(f"Sign-in with {current_app.config['OIDC_PROVIDER_NAME']} did not complete. Please try again.",
              "error")
        return redirect(url_for("auth.login"))
    next_url = session.pop(OIDC_NEXT_KEY, None)  # sign_in drops what the session held
    signin.sign_in(user)
    db.session.commit()
    flash(f"Signed in as {user.email}.", "success")
    return redirect(next_url or url_for("catalog.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """Profile, password and personal API tokens; a new token's plaintext is shown on this response only."""
    if referral_links.existing_code(current_user) is None:  # the referral link, made on the first visit
        referral_links.code_for(current_user, utcnow())
        db.session.commit()
    form = ApiTokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _, new_token = api_tokens.create(current_user, form.name.data, scopes=form.scopes.data)
        except DomainError as error:
            errors_onto(form, error, "name")
        else:
            db.session.commit()
            form = ApiTokenForm(formdata=None)
    return _account_page(form=form, new_token=new_token)


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    """Change the password (the current one is asked), or set one on an account made through OIDC."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # A borrowed session must not become a way to guess the current password.
        keys = [("user", str(current_user.id))]
        if throttle.exhausted("password-change", "SIGN_IN_RATE_LIMIT", keys):
            form.current_password.errors.append(TOO_MANY_SIGN_INS)
            return _account_page(password_form=form), 429
        end_other_access = not form.keep_other_access.data
        try:
            accounts.change_password(current_user._get_current_object(), form.current_password.data,
                                     form.new_password.data, end_other_access=end_other_access,
                                     current_session=signin.current_session().id)
        except DomainError as error:
            if error.code == "WRONG_PASSWORD":
                throttle.hit("password-change", "SIGN_IN_RATE_LIMIT", keys)
            errors_onto(form, error, "current_password")
        else:
            db.session.commit()
            if end_other_access:
                flash("Your password is saved. Other devices signed in to your account are signed out, "
                      "and your API tokens are revoked.", "success")
            else:
                flash("Your password is saved. Your other devices and API tokens keep working.", "success")
            return redirect(url_for("auth.account"))
    return _account_page(password_form=form)


def _account_page(form: ApiTokenForm | None = None, password_form: ChangePasswordForm | None = None,
                  new_token: str | None = None):
    # The plaintext token must not be kept by a cache or shown again by the back button.
    form = form or ApiTokenForm(formdata=None)
    form.scopes.choices = [(scope, api_tokens.SCOPE_LABELS[scope]) for scope in api_tokens.SCOPES
                           if scope in api_tokens.scopes_for_role(current_user)]
    return _private(render_template(
        "auth/account.html", form=form, new_token=new_token,
        password_form=password_form or ChangePasswordForm(formdata=None),
        tokens=api_tokens.active_tokens(current_user),
        sessions=sessions.active(current_user, idle_minutes=current_app.config["SESSION_IDLE_MINUTES"]),
        this_session=signin.current_session().id, describe_device=sessions.describe_device,
        referral_link=_referral_link(), referral_rewards=referral_rewards.for_referrer(current_user),
        referral_terms=referral_rewards.offer(), reward_text=referral_rewards.describe))


def _referral_link() -> str | None:
    """The learner's `/r/<code>` link, on FRONTEND_URL like every link we hand out."""
    code = referral_links.existing_code(current_user)
    return current_app.config["FRONTEND_URL"] + url_for("referrals.follow", code=code) if code else None


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Mail a reset link. One neutral answer whether or not the account exists (no enumeration)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        keys = [throttle.address_key(), ("email", accounts.normalize_email(form.email.data))]
        # Every request counts, so nobody can flood someone's inbox; over the limit the answer is the same.
        if throttle.hit("password-reset", "PASSWORD_RESET_RATE_LIMIT", keys):
            _mail_reset_link(form.email.data)
        else:
            log.warning("Password reset link not sent: over PASSWORD_RESET_RATE_LIMIT (%s)", keys)
        return render_template("auth/forgot_password.html", form=form, sent=True)
    return render_template("auth/forgot_password.html", form=form)


def _mail_reset_link(email: str) -> None:
    # A job looks the account up and queues the mail, so this answer does the same work (one
    # enqueue) whether or not the account exists: a database write here would take ~40 ms
    # longer for real accounts and tell which addresses have one. No sweep redoes this job, so
    # with the queue down it runs here: slower, and telling, but never a promised mail lost.
    enqueue_or_run(tasks.request_password_reset, email)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through a mailed link, then be signed in; the link then stops working."""
    config = current_app.config
    user = accounts.user_from_reset_token(token, config["SECRET_KEY"], config["PASSWORD_RESET_MINUTES"] * 60)
    if user is None:
        return _private(render_template("auth/reset_password_invalid.html"), 400)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.new_password.data)
        except DomainError as error:
            errors_onto(form, error, "new_password")
        else:
            signin.sign_in(user)  # a new session: every other one ended with the reset
            db.session.commit()
            flash("Your new password is set, and you are signed in. Every other device is signed out "
                  "and your API tokens are revoked.", "success")
            return redirect(url_for("catalog.index"))
    return _private(render_template("auth/reset_password.html", form=form))


def _private(body: str, status: int = 200):
    """A response no cache keeps and whose address (it may hold a token) no other site is told."""
    response = current_app.make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit():
        token = api_tokens.revoke(current_user, token_id)
        db.session.commit()
        flash(f"Token {token.name} ({token.prefix}…) is revoked.", "info")
    return redirect(url_for("auth.account"))


@bp.route("/account/sessions/<string(length=64):session_id>/revoke", methods=["POST"])
@login_required
def revoke_session(session_id: str):
    """Sign out one device listed on /account (this one too, which then signs out here)."""
    if EmptyForm().validate_on_submit():
        if session_id == signin.current_session().id:
            signin.sign_out()
            db.session.commit()
            flash("You are signed out.", "info")
            return redirect(url_for("auth.login"))
        sessions.end_one_of(current_user, session_id, actor=current_user)
        db.session.commit()
        flash("That device is signed out.", "info")
    return redirect(url_for("auth.account", _anchor="sessions"))


@bp.route("/account/sessions/revoke-all", methods=["POST"])
@login_required
def revoke_all_sessions():
    """"Sign out of all devices": every session and remember-me cookie of the account, this one too."""
    if EmptyForm().validate_on_submit():
        sessions.end_all(current_user, actor=current_user, reason="signed out of all devices")
        signin.sign_out()
        db.session.commit()
        flash("You are signed out on every device, this one included.", "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.account", _anchor="sessions"))
