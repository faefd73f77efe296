"""Sign-up, sign-in and sign-out through the real forms, CSRF included."""
from extensions import db
from models import User
from tests import factories
from tests.helpers import DEFAULT_PASSWORD, csrf_token, login, post_form


def _signup(client, **overrides):
    data = {"name": "Nora New", "email": "nora@example.com", "password": "a-good-pass-1",
            "confirm": "a-good-pass-1", "csrf_token": csrf_token(client, "/signup")}
    data.update(overrides)
    return client.post("/signup", data=data)


def test_signup_creates_a_learner_and_signs_in(client):
    response = _signup(client, email="  Nora@Example.COM ")
    assert response.status_code == 302
    user = db.session.scalar(db.select(User))
    assert user.email == "nora@example.com" and user.role.value == "LEARNER"
    assert user.password_hash.startswith("$argon2")
    assert "Sign out" in client.get("/courses").get_data(as_text=True)


def test_signup_refuses_a_duplicate_email_case_insensitively(client, learner):
    response = _signup(client, email="LEARNER@example.com")
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 1


def test_signup_states_and_enforces_password_rules(client):
    page = client.get("/signup").get_data(as_text=True)
    assert "At least 10 characters" in page
    for password, message in [("short1", "at least 10"), ("onlyletterslong", "one letter and one digit")]:
        response = _signup(client, password=password, confirm=password)
        assert message in response.get_data(as_text=True)
    mismatch = _signup(client, confirm="different-pass-2")
    assert "do not match" in mismatch.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_signup_without_csrf_is_refused(client):
    response = client.post("/signup", data={"name": "X", "email": "x@example.com",
                                            "password": "a-good-pass-1", "confirm": "a-good-pass-1"})
    assert response.status_code == 400 and "session expired" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_login_and_logout(client, learner):
    login(client, learner.email)
    assert "Sign out" in client.get("/courses").get_data(as_text=True)
    response = post_form(client, "/logout")
    assert response.status_code == 302
    assert "Sign in" in client.get("/courses").get_data(as_text=True)


def test_wrong_credentials_get_one_neutral_message(client, learner):
    bad_password = client.post("/login", data={"email": learner.email, "password": "wrong-pass-1",
                                                "csrf_token": csrf_token(client, "/login")})
    unknown_email = client.post("/login", data={"email": "nobody@example.com", "password": DEFAULT_PASSWORD,
                                                "csrf_token": csrf_token(client, "/login")})
    message = "That email and password do not match an account."
    assert message in bad_password.get_data(as_text=True)
    assert message in unknown_email.get_data(as_text=True)


def test_login_redirects_only_to_local_next(client, learner):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/courses/python", data={"email": learner.email,
                                                                 "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/courses/python"
    post_form(client, "/logout")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example.com/x", data={"email": learner.email,
                                                                      "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/courses"


def test_disabled_accounts_cannot_sign_in(client):
    user = factories.user(email="gone@example.com", is_disabled=True)
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 200


def test_users_create_command_makes_staff(runner):
    result = runner.invoke(args=["users", "create", "--email", "Boss@Example.com", "--role", "staff",
                                 "--password", "staff-pass-123"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "boss@example.com"))
    assert user.role.value == "STAFF"


def test_users_create_prompts_for_the_password(runner):
    result = runner.invoke(args=["users", "create", "--email", "p@example.com", "--role", "admin"],
                           input="admin-pass-123\nadmin-pass-123\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(db.select(User).where(User.email == "p@example.com")).role.value == "ADMIN"


def test_users_create_reports_a_weak_password(runner):
    result = runner.invoke(args=["users", "create", "--email", "w@example.com", "--password", "weak"])
    assert result.exit_code != 0 and "at least 10" in result.output


def test_fields_reference_only_help_and_errors_that_exist(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'aria-describedby="None"' not in page
    signup = client.get("/signup").get_data(as_text=True)
    assert 'aria-describedby="password-help"' in signup
