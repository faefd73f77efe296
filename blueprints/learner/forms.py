"""The learner blueprint's forms: asking for a refund."""
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length, Optional


class RefundRequestForm(FlaskForm):
    reason = TextAreaField("Why would you like a refund?", validators=[Optional(), Length(max=1000)],
                           description="Optional when the refund is automatic; our staff read it otherwise.")
    submit = SubmitField("Request a refund")
