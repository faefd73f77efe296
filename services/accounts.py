"""Accounts: sign-up, password sign-in, staff creation. Passwords are hashed with Argon2."""
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from extensions import db
from models import User, UserRole, utcnow
from services.errors import DomainError

PASSWORD_MIN_LENGTH = 10
PASSWORD_RULES = f"At least {PASSWORD_MIN_LENGTH} characters, with at least one letter and one digit."
_hasher = PasswordHasher()
# Verifying against this keeps the time of a failed sign-in the same whether or not the email exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


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


def create_user(email: str, name: str, password: str | None, role: UserRole = UserRole.LEARNER) -> User:
    """A new account. Raises DomainError (with the field) for a taken email or a weak password."""
    email = check_email(email)
    if find_by_email(email):
        raise DomainError("An account with this email already exists.", code="EMAIL_TAKEN", field="email")
    if password is not None and (problem := password_problem(password)):
        raise DomainError(problem, code="WEAK_PASSWORD", field="password")
    user = User(email=email, name=name.strip() or email, role=role,
                password_hash=hash_password(password) if password else None)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match, else None (the caller shows one neutral message)."""
    user = find_by_email(email)
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.password_hash is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user
