"""What every blueprint's forms share: the button-only `EmptyForm`, `errors_onto`, the one way
a service's error reaches a form (FlaskBB's `populate_errors` shape), and `rule_errors_onto`,
which lets one submit show the form's and the service's errors together."""
from collections.abc import Mapping

from flask_wtf import FlaskForm
from wtforms import SubmitField

from services.errors import DomainError, FieldErrors


class EmptyForm(FlaskForm):
    """For POSTs that are just a button: only the CSRF token."""

    submit = SubmitField("Submit")


def errors_onto(form: FlaskForm, error: DomainError, fallback: str, rename: Mapping[str, str] | None = None) -> None:
    """Show a service's error next to the fields it concerns.

    A FieldErrors puts each {field: message} on its field; another DomainError puts its
    message on `error.field`. `rename` maps a service's name for a field onto the form's;
    an error for no field, or a field the form lacks, lands on the field named `fallback`.
    """
    errors = error.errors if isinstance(error, FieldErrors) else {error.field or "": error.message}
    _put(form, errors, fallback, rename, skip_refused=False)


def rule_errors_onto(form: FlaskForm, errors: Mapping[str, str], fallback: str,
                     rename: Mapping[str, str] | None = None) -> None:
    """A service's {field: message} (its `validate`) on a form the form itself refused.

    Called when the form has errors of its own, so that one submit shows every mistake: the
    service judges what could be parsed, and its message goes only onto fields the form has
    not already refused (no "required" and "give it a name" side by side).
    """
    _put(form, errors, fallback, rename, skip_refused=True)


def _put(form: FlaskForm, errors: Mapping[str, str], fallback: str, rename: Mapping[str, str] | None,
         skip_refused: bool) -> None:
    for name, message in errors.items():
        field = form._fields.get((rename or {}).get(name, name)) or form[fallback]
        if skip_refused and field.errors:
            continue
        field.errors = [*field.errors, message]  # a tuple until the form was validated
