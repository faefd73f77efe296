"""The test setup: a request, a CLI command or a thread sees and leaves only committed data.

A view or command that forgets to commit must fail its test (tests/isolation.py).
"""
import click
from flask import g

from extensions import db
from models import User
from tests import factories
from tests.isolation import run_in_threads


def _emails() -> list[str]:
    return sorted(db.session.scalars(db.select(User.email)))


def test_what_a_request_does_not_commit_is_rolled_back(app, client):
    @app.post("/_test/forgetful")
    def forgetful():
        db.session.add(User(email="forgotten@example.com", name="Forgotten", password_hash="x"))
        db.session.flush()
        return "written, not committed"

    @app.post("/_test/careful")
    def careful():
        db.session.add(User(email="kept@example.com", name="Kept", password_hash="x"))
        db.session.commit()
        return "committed"

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # these two test views have no form
    assert client.post("/_test/forgetful").status_code == 200
    assert client.post("/_test/careful").status_code == 200
    assert _emails() == ["kept@example.com"]


def test_each_request_has_its_own_g(app, client):
    @app.get("/_test/g")
    def remember():
        seen = g.get("seen", "nothing")
        g.seen = "an earlier request"
        return seen

    assert client.get("/_test/g").get_data(as_text=True) == "nothing"
    assert client.get("/_test/g").get_data(as_text=True) == "nothing"


def test_a_request_sees_the_tests_uncommitted_writes_and_the_test_sees_its_commits(app, client, learner):
    @app.get("/_test/name/<int:user_id>")
    def name(user_id):
        user = db.session.get(User, user_id)
        user.name = user.name + " (seen)"
        db.session.commit()
        return user.name

    learner.name = "Renamed by the test"  # not committed by the test: the request must still see it
    assert client.get(f"/_test/name/{learner.id}").get_data(as_text=True) == "Renamed by the test (seen)"
    assert learner.name == "Renamed by the test (seen)"  # reloaded, not the stale value


def test_a_command_that_does_not_commit_leaves_nothing(app, runner):
    @app.cli.command("_test-forgetful")
    def forgetful():
        db.session.add(User(email="cli-forgotten@example.com", name="Forgotten", password_hash="x"))
        db.session.flush()
        click.echo("written, not committed")

    result = runner.invoke(args=["_test-forgetful"])
    assert result.exit_code == 0, result.output
    assert _emails() == []


def test_threads_have_their_own_sessions_and_see_the_tests_writes(app):
    user = factories.user(email="shared@example.com")
    user.name = "Pending in the test"  # ended (committed) before the threads start

    def read_and_forget():
        found = db.session.get(User, user_id).name
        db.session.add(User(email=f"thread-{id(db.session())}@example.com", name="T", password_hash="x"))
        db.session.flush()
        return found

    user_id = user.id
    assert run_in_threads(app, [read_and_forget, read_and_forget]) == ["Pending in the test"] * 2
    assert _emails() == ["shared@example.com"]
