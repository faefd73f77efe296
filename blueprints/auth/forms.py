"""Forms of the auth blueprint."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from services.people.accounts import PASSWORD_RULES


class SignUpForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()], description=PASSWORD_RULES)
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "The passwords do not match.")])
    submit = SubmitField("Create account")


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class ApiTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)],
                       description="For example the app or script that will use it.")
    # Choices are the scopes the account's role allows (set by the view); the rules are
    # services/people/api_tokens.py's, which refuses staff scopes for other accounts anyway.
    scopes = SelectMultipleField("What it may do", default=["read", "write"], validate_choice=False)
    submit = SubmitField("Create token")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Send me a link")


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[DataRequired()], description=PASSWORD_RULES)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords do not match.")])
    submit = SubmitField("Set password")


class ChangePasswordForm(ResetPasswordForm):
    # Required only when the account has a password (checked by accounts.change_password).
    current_password = PasswordField("Current password")
    # Unticked by default, so the safe choice (end them) is what a form without it gets too.
    keep_other_access = BooleanField("Keep my other devices signed in and my API tokens working")
