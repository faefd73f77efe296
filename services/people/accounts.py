"""Accounts: sign-up, password sign-in, password change and reset, staff creation.

Passwords are hashed with Argon2. A password reset link carries a signed, time-limited token
(itsdangerous) naming the user and a fingerprint of the current password hash: setting a
password changes the hash, so a link works once and stops working once the password changes;
no table holds the tokens.
"""
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadData, URLSafeTimedSerializer

from extensions import db
from models import User, UserRole, utcnow
from services import audit, notifications
from services.errors import DomainError, NotFound
from services.people import sessions

PASSWORD_MIN_LENGTH = 10
PASSWORD_RULES = f"At least {PASSWORD_MIN_LENGTH} characters, with at least one letter and one digit."
_hasher = PasswordHasher()
# Verifying against this keeps the time of a failed sign-in the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")
RESET_TOKEN_SALT = "learnpay.password-reset"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise DomainError(str(error), code="INVALID_EMAIL", field="email") from error


def password_problem(password: str) -> str | None:
    """What is wrong with `password`, or None when it follows PASSWORD_RULES."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"Use at least {PASSWORD_MIN_LENGTH} characters."
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return "Use at least one letter and one digit."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalize_email(email)))


def require_by_email(email: str) -> User:
    """The account with this email, for staff acting on a learner; NotFound (on "email") otherwise."""
    user = find_by_email(email)
    if user is None:
        raise NotFound("No account has this email. The learner must sign up first.", code="USER_NOT_FOUND",
                       field="email")
    return user


def require_by_email_problems(email: str | None) -> dict[str, str]:
    """`require_by_email`'s refusal as {field: message} (empty when an account has the email),
    for a staff form that also has errors of its own to show with it."""
    try:
        require_by_email(email or "")
    except NotFound as error:
        return {error.field or "email": error.message}
    return {}


def sign_up_problems(email: str, password: str | None) -> list[DomainError]:
    """Every reason the account cannot be made (invalid or taken email, weak password), each
    naming its field, so a sign-up form shows them all at once; empty when it can."""
    problems: list[DomainError] = []
    try:
        if find_by_email(check_email(email)):
            problems.append(DomainError("An account with this email already exists.", code="EMAIL_TAKEN",
                                        field="email"))
    except DomainError as error:
        problems.append(error)
    if password is not None and (problem := password_problem(password)):
        problems.append(DomainError(problem, code="WEAK_PASSWORD", field="password"))
    return problems


def create_user(email: str, name: str, password: str | None, role: UserRole = UserRole.LEARNER) -> User:
    """A new account. Raises DomainError (with the field) for an invalid or taken email or a weak
    password (the first of `sign_up_problems`)."""
    if problems := sign_up_problems(email, password):
        raise problems[0]
    email = check_email(email)
    user = User(email=email, name=name.strip() or email, role=role,
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, else None (the caller shows one neutral message)."""
    user = find_by_email(email)
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    if not _verifies(stored, password):
        return None
    if user is None or user.password_hash is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def change_password(user: User, current: str | None, new: str, *, end_other_access: bool = True,
                    current_session: str | None = None) -> None:
    """Set `user`'s password from the account page. The current password is asked only when
    there is one (an account made through OIDC may have none yet). Unless the user chose to
    keep them, every other session and every API token ends (the session `current_session`
    goes on). Raises DomainError with the field; nothing changes then."""
    had_password = user.password_hash is not None
    if had_password and not _verifies(user.password_hash, current or ""):
        raise DomainError("That is not your current password.", code="WRONG_PASSWORD", field="current_password")
    _set_password(user, new, "user.password_changed" if had_password else "user.password_set")
    if end_other_access:
        sessions.end_all_access(user, actor=user, reason="password changed", keep=current_session)


def reset_request(email: str, secret_key: str) -> tuple[User | None, str]:
    """The account a reset link may be mailed to (None for an unknown or disabled one) and its
    token. A token is signed either way, so both cases do the same work."""
    user = find_by_email(email)
    if user is not None and not user.is_active:
        user = None
    return user, reset_token(user, secret_key)


def request_password_reset(email: str, secret_key: str) -> None:
    """Queue a reset mail for an active account with this email; nothing for others. The same
    work (a token signed) is done either way; the mail's own link is made when it is sent."""
    user, _token = reset_request(email, secret_key)
    if user is not None:
        notifications.password_reset(user, request_id=secrets.token_hex(8))


def reset_token(user: User | None, secret_key: str) -> str:
    """A signed, timed token naming the user and a digest of the current password hash."""
    return _reset_serializer(secret_key).dumps(_reset_claims(user))


def user_from_reset_token(token: str, secret_key: str, max_age_seconds: int) -> User | None:
    """The active user a reset token names, or None when it is expired, tampered with, already
    used or made before the password last changed."""
    try:
        claims = _reset_serializer(secret_key).loads(token, max_age=max_age_seconds)
    except BadData:
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("user"), int):
        return None
    user = db.session.get(User, claims["user"])
    if user is None or not user.is_active or claims != _reset_claims(user):
        return None
    return user


def reset_password(user: User, new: str) -> None:
    """Set the password chosen through a reset link (which this makes unusable). Whoever else
    had a way in loses it: every session, remember-me cookie and API token of the account ends
    (the reset mail says so). The caller then signs the user in with a new session."""
    _set_password(user, new, "user.password_reset")
    sessions.end_all_access(user, actor=user, reason="password reset")
    user.last_login_at = utcnow()


def _set_password(user: User, password: str, action: str) -> None:
    if problem := password_problem(password):
        raise DomainError(problem, code="WEAK_PASSWORD", field="new_password")
    user.password_hash = hash_password(password)
    audit.record(action, user, actor=user)


def _verifies(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _reset_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=RESET_TOKEN_SALT)


def _reset_claims(user: User | None) -> dict:
    # The token is readable (only signed): it carries a digest of the hash, never the hash.
    password_hash = (user.password_hash if user else None) or ""
    return {"user": user.id if user else 0,
            "password": hashlib.sha256(password_hash.encode()).hexdigest()[:32]}
