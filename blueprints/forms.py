"""What every blueprint's forms share: the button-only `EmptyForm` and `errors_onto`, the one way
a service's error reaches a form (FlaskBB's `populate_errors` shape)."""
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
    for name, message in errors.items():
        field = form._fields.get((rename or {}).get(name, name)) or form[fallback]
        field.errors = [*field.errors, message]  # a tuple until the form was validated
