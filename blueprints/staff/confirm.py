"""Confirmation before a staff action that cannot simply be undone (refund, deactivate, revoke,
delete, role change), saying what will happen.

One mechanism serves both paths. The action's form posts as usual; while the POST lacks
`confirmed=yes` its view answers with the question instead of acting: a confirmation page
repeating the form's fields (no JavaScript needed), or, when static/js/confirm.js asks with the
`X-Confirm-Preview` header, the same question as a fragment it shows in a <dialog>. Either way
the "Yes" button posts the same fields plus `confirmed=yes`, so the view checks the input once,
and the text comes from the services that know the consequences.
"""
from flask import render_template, request

CONFIRMED = "yes"


def given() -> bool:
    """Whether this POST is the answer to the question (the second step)."""
    return request.form.get("confirmed") == CONFIRMED


def ask(*, title: str, message: str, action: str, cancel_url: str, danger: bool = True):
    """The question for the current POST: `message` says what will happen, `action` labels the
    button that does it. Every field of the request is posted again with it."""
    fields = [(name, value) for name, values in request.form.lists() if name != "confirmed" for value in values]
    context = dict(title=title, message=message, action=action, cancel_url=cancel_url, danger=danger,
                   fields=fields, target=request.full_path.rstrip("?"))
    if request.headers.get("X-Confirm-Preview"):
        return render_template("staff/_confirm.html", **context), 200, {"X-Confirm": "ask", "Vary": "X-Confirm-Preview"}
    return render_template("staff/confirm.html", **context)
