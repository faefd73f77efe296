"""Forms of the staff blueprint: they parse text into values; the services hold the rules.

Amounts are typed in major units ("19.90") and turned into minor units with the currency's
exponent; dates and times are UTC.
"""
from datetime import timezone
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField,
                     SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import DiscountType, EnrollmentSource, EnrollmentType, UserRole
from services.courses.details import TOPICS
from services.money import MAXIMUM_CHARGE, SUPPORTED_CURRENCIES, exponent, to_minor


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants them (plain tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]


CURRENCY_CHOICES = [("", "—")] + [(code, code) for code in SUPPORTED_CURRENCIES]
REFUND_REASONS = [("requested_by_customer", "Requested by the customer"), ("duplicate", "Duplicate payment"),
                  ("fraudulent", "Fraudulent")]


def _decimal(text: str | None) -> Decimal | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError("Enter a number, like 19.90.") from None
    if not value.is_finite():
        raise ValidationError("Enter a number, like 19.90.")
    return value


def amount_in_minor(text: str | None, currency: str | None) -> int | None:
    """'19.90' USD → 1990; refuses more decimals than the currency has and absurd sizes."""
    value = _decimal(text)
    if value is None:
        return None
    if abs(value) > MAXIMUM_CHARGE:  # before quantize, which fails on absurd exponents
        raise ValidationError("That amount is too large.")
    places = exponent(currency or "USD")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"Use at most {places} decimals for {currency or 'this currency'}.")
    minor = to_minor(value, currency or "USD")
    if abs(minor) > MAXIMUM_CHARGE:
        raise ValidationError("That amount is too large.")
    return minor


def utc(value):
    return value.replace(tzinfo=timezone.utc) if value is not None else None


class CouponEditForm(FlaskForm):
    """Staff create or edit a coupon (the learner's code field is checkout's ApplyCouponForm)."""

    code = StringField("Code", validators=[DataRequired(), Length(max=32)],
                       description="3–32 characters: A–Z, 0–9, _ and -. Stored in upper case.")
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    discount_type = SelectField("Type", choices=choices([(DiscountType.PERCENTAGE.value, "Percentage"),
                                                         (DiscountType.FIXED_AMOUNT.value, "Fixed amount")]))
    value = StringField("Value", validators=[DataRequired()],
                        description="A percentage (e.g. 15 or 12.5), or an amount in the currency (e.g. 10.00).")
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES), validators=[Optional()],
                           description="Required for a fixed amount; for a percentage it sets the currency of "
                                       "the minimum and maximum below (and limits the coupon to that currency).")
    max_uses = IntegerField("Max uses", validators=[Optional(), NumberRange(min=0, max=10_000_000, message="Between 0 and 10,000,000 (empty for unlimited).")],
                            description="Empty for unlimited.")
    per_learner_limit = IntegerField("Uses per learner", default=1,
                                     validators=[Optional(), NumberRange(min=1, max=1000, message="Between 1 and 1,000 (empty for unlimited).")],
                                     description="Empty for unlimited.")
    valid_from = DateTimeLocalField("Valid from (UTC)", validators=[Optional()])
    valid_until = DateTimeLocalField("Valid until (UTC)", validators=[Optional()])
    minimum_amount = StringField("Minimum price", validators=[Optional()])
    maximum_discount = StringField("Maximum discount", validators=[Optional()])
    course_ids = SelectMultipleField("Applies to courses", coerce=int, validators=[Optional()],
                                     description="None selected here or below: every course and bundle.")
    bundle_ids = SelectMultipleField("Applies to bundles", coerce=int, validators=[Optional()],
                                     description="Courses or bundles selected: only those (a code limited to "
                                                 "bundles does not apply to single courses).")
    is_public = BooleanField("Public (may be listed to learners and in the API)")
    is_active = BooleanField("Active", default=True)
    submit = SubmitField("Save coupon")

    def amounts(self) -> dict:
        """Value and amounts in minor units; each one that does not parse is None, with its
        error on its field (all of them at once)."""
        currency = self.currency.data or None
        result: dict = {}
        for name in ("minimum_amount", "maximum_discount"):
            result[name] = _parsed(getattr(self, name), lambda text: amount_in_minor(text, currency))
        percentage = self.discount_type.data == DiscountType.PERCENTAGE.value
        result["percent_off"] = _parsed(self.value, _decimal) if percentage else None
        result["amount_off"] = None if percentage else _parsed(self.value, lambda text: amount_in_minor(text, currency))
        return result


def _parsed(field, parse):
    """`parse(field.data)`, or None with the parse error added to the field."""
    try:
        return parse(field.data)
    except ValidationError as error:
        field.errors = [*field.errors, str(error)]
        return None


class BulkCouponForm(FlaskForm):
    """Codes from a coupon (the prefix's characters and the ranges are services/coupons/admin's rules)."""
    prefix = StringField("Prefix", validators=[Optional()], description="e.g. SPRING-")
    count = IntegerField("How many codes", default=100, validators=[InputRequired()])
    max_uses = IntegerField("Uses per code", default=1, validators=[Optional()],
                            description="Empty for unlimited.")
    submit = SubmitField("Generate codes")


class CoverAndPrice:
    """What the course and bundle forms share: the uploaded cover's bytes and the price in minor
    units (fields `cover`, `price`, `currency`)."""

    def uploaded_cover(self) -> bytes | None:
        """The chosen file's bytes; None when none was chosen."""
        upload = self.cover.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.read()

    def price_minor(self) -> int | None:
        try:
            return amount_in_minor(self.price.data, self.currency.data)
        except ValidationError as error:
            self.price.errors = [*self.price.errors, str(error)]
            return None


class CourseForm(CoverAndPrice, FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Slug", validators=[DataRequired(), Length(max=120)], description="Used in the URL.")
    short_description = StringField("Short description", validators=[Optional(), Length(max=300)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20000)])
    price = StringField("Price", default="0", validators=[InputRequired()])
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES[1:]), default="USD")
    enrollment_type = SelectField("Enrollment type", choices=choices((t.value, t.value.replace("_", " ").title())
                                                                      for t in EnrollmentType))
    capacity = IntegerField("Capacity", validators=[Optional(), NumberRange(min=0, max=10_000_000, message="Between 0 and 10,000,000 (empty for unlimited).")],
                            description="Empty for unlimited.")
    is_published = BooleanField("Published")
    # The course page's details (issue 17); services/courses/details.py parses the lists.
    # validate_choice off: services/courses/admin.py judges the topic, with the other details.
    topic = SelectField("Topic", choices=choices([("", "—")] + list(TOPICS.items())), default="", validate_choice=False)
    instructor_name = StringField("Instructor", validators=[Optional()])
    instructor_bio = TextAreaField("Instructor's short bio", validators=[Optional()],
                                   description="Two or three sentences, at most 600 characters.")
    learning_outcomes = TextAreaField("What you'll learn", validators=[Optional()],
                                      description="One point a line (at most 12).")
    requirements = TextAreaField("Requirements", validators=[Optional()],
                                 description="One a line, e.g. “A computer that runs Python 3.12”.")
    faq = TextAreaField("Frequently asked questions", validators=[Optional()],
                        description="The question on one line and its answer on the next; "
                                    "a blank line between questions (at most 10).")
    cover = FileField("Upload a new cover")
    cover_alt = StringField("Cover image description (alt text)", validators=[Optional()],
                            description="What the image shows, for people who cannot see it; "
                                        "leave empty if it is only decoration.")
    remove_cover = BooleanField("Remove the cover image")
    submit = SubmitField("Save course")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = current_app.config["COURSE_COVER_MAX_BYTES"] / (1024 * 1024)
        self.cover.description = (f"JPEG, PNG, WebP or GIF, up to {limit:g} MB and at least 320×180 pixels; "
                                  "shown at 16:9, cropped to its middle.")



class LectureForm(FlaskForm):
    """A lecture (the title's length and the minutes' range are services/courses/admin's rules)."""
    title = StringField("Title", validators=[DataRequired()])
    content = TextAreaField("Content", validators=[Optional(), Length(max=100000)])
    duration_minutes = IntegerField("Minutes", default=0, validators=[Optional()])
    is_preview = BooleanField("Free preview")
    submit = SubmitField("Save lecture")


class RefundForm(FlaskForm):
    amount = StringField("Amount", validators=[Optional()], description="Empty for the full remaining amount.")
    reason = SelectField("Reason", choices=choices(REFUND_REASONS))
    submit = SubmitField("Refund")


class GrantForm(FlaskForm):
    email = StringField("Learner's email", validators=[DataRequired(), Length(max=254)])
    source = SelectField("Source", choices=choices((s.value, s.value.replace("_", " ").title()) for s in EnrollmentSource))
    submit = SubmitField("Grant enrollment")


class RevokeForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=300)])
    submit = SubmitField("Revoke")


class IssueInvitationsForm(FlaskForm):
    """Staff issue invitation codes (the learner's code field is checkout's RedeemInvitationForm);
    the count's range and the email's length are services/learning/invitations' rules."""

    count = IntegerField("How many", default=1, validators=[InputRequired()])
    email = StringField("For this email only", validators=[Optional()])
    expires_at = DateTimeLocalField("Expires (UTC)", validators=[Optional()])
    submit = SubmitField("Issue invitation codes")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices((r.value, r.value.title()) for r in UserRole))
    submit = SubmitField("Change role")


class RefundPolicyForm(FlaskForm):
    """The refund policy (the ranges are services/payments/refund_policy's rules)."""
    window_days = IntegerField("Refund window (days; 0 = no self-service refunds)", validators=[InputRequired()])
    max_progress_percent = IntegerField("Automatic refund up to this progress (%)", validators=[InputRequired()])
    revokes_access = BooleanField("A refund removes access to the course")
    submit = SubmitField("Save the policy")


class CourseRefundOverrideForm(FlaskForm):
    """One course's refund terms: the policy's, none, or its own window / progress limit."""
    course_id = SelectField("Course", coerce=int, validate_choice=False)
    mode = SelectField("Terms", choices=choices([("policy", "The policy"), ("no_refunds", "No refunds"),
                                                 ("custom", "Its own window / progress limit")]))
    window_days = IntegerField("Own window (days)", validators=[Optional()])
    max_progress_percent = IntegerField("Own progress limit (%)", validators=[Optional()])
    submit = SubmitField("Save the course's terms")


class ApproveRefundRequestForm(FlaskForm):
    """Approve a learner's refund request: all that is left, or the amount typed."""

    amount = StringField("Amount", validators=[Optional()], description="Empty for everything the learner asked for.")
    message = TextAreaField("Message to the learner", validators=[Optional(), Length(max=1000)])
    submit = SubmitField("Approve and refund")


class DeclineRefundRequestForm(FlaskForm):
    message = TextAreaField("Message to the learner", validators=[DataRequired(), Length(max=1000)],
                            description="Mailed to the learner: say why.")
    submit = SubmitField("Decline")


class BundleForm(CoverAndPrice, FlaskForm):
    """A bundle (issue 20). The rules (two or more paid courses of its currency, the price, the
    slug, the cover) are services/bundles/admin's; this form only parses."""
    name = StringField("Name", validators=[DataRequired()])
    slug = StringField("Slug", validators=[DataRequired()], description="Used in the URL.")
    description = TextAreaField("Description", validators=[Optional()])
    price = StringField("Bundle price", validators=[InputRequired()],
                        description="What the learner pays for all of its courses together.")
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES[1:]), default="USD")
    course_ids = SelectMultipleField("Courses", coerce=int, validators=[Optional()], validate_choice=False,
                                     description="Two or more paid courses priced in the bundle's currency.")
    is_published = BooleanField("Published (on sale)")
    cover = FileField("Upload a new cover")
    cover_alt = StringField("Cover image description (alt text)", validators=[Optional()])
    remove_cover = BooleanField("Remove the cover image")
    submit = SubmitField("Save bundle")


class PathForm(FlaskForm):
    """A learning path (issue 20): every rule beyond parsing is services/paths/admin's."""

    name = StringField("Name", validators=[DataRequired()])
    slug = StringField("Slug", validators=[DataRequired()], description="Used in the URL: /paths/<slug>.")
    description = TextAreaField("Description", validators=[Optional()])
    courses = TextAreaField("Courses, in order", validators=[DataRequired(message="List the path's courses.")],
                            description="One course slug a line (the list below names them), first course "
                                        "first. To reorder, move the lines.")
    price = StringField("Price for the whole path", validators=[Optional()],
                        description="Optional. Sells the path's paid courses in one checkout; a learner who "
                                    "owns some pays less (like a bundle). Empty: each paid course is bought "
                                    "on its own page.")
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES), default="", validators=[Optional()])
    sequential = BooleanField("Each course unlocks only after the previous one is completed")
    is_published = BooleanField("Published")
    submit = SubmitField("Save path")

    def price_minor(self) -> int | None:
        """The price in minor units; None when empty or when it does not parse (its error on the field)."""
        return _parsed(self.price, lambda text: amount_in_minor(text, self.currency.data or None))


class ReferralSettingsForm(FlaskForm):
    """The referrer's reward (issue 20); the values are checked by services/referrals/rewards
    with the coupon rules."""
    rewards_enabled = BooleanField("Give referrers a reward")
    discount_type = SelectField("Reward", choices=choices([(DiscountType.PERCENTAGE.value, "Percentage off"),
                                                           (DiscountType.FIXED_AMOUNT.value, "Fixed amount off")]))
    value = StringField("Value", validators=[DataRequired()],
                        description="A percentage (e.g. 10 or 12.5), or an amount in the currency (e.g. 5.00).")
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES), validators=[Optional()],
                           description="Required for a fixed amount.")
    validity_days = IntegerField("Valid for (days after it is issued)", validators=[InputRequired()])
    submit = SubmitField("Save the reward")

    def parsed_value(self) -> dict:
        """percent_off / amount_off from `value`; one that does not parse is None, its error on the field."""
        percentage = self.discount_type.data == DiscountType.PERCENTAGE.value
        currency = self.currency.data or None
        return {"percent_off": _parsed(self.value, _decimal) if percentage else None,
                "amount_off": None if percentage else _parsed(self.value, lambda text: amount_in_minor(text, currency))}


class MembershipForm(FlaskForm):
    """Staff create or edit a membership (issue 16). Prices are typed in major units of the one
    currency; the rules (at least one price, Stripe's minimum, trial range, chosen courses) are
    services/memberships/admin's."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    currency = SelectField("Currency", choices=choices(CURRENCY_CHOICES[1:]), default="USD")
    monthly_price = StringField("Monthly price", validators=[Optional()], description="Empty: no monthly plan.")
    yearly_price = StringField("Yearly price", validators=[Optional()], description="Empty: no yearly plan.")
    trial_days = IntegerField("Trial days", validators=[Optional()],
                              description="Empty or 0: no trial. The first charge comes when the trial ends.")
    unlocks = SelectField("Unlocks", choices=choices([("all", "Every published course"),
                                                      ("chosen", "The courses chosen below")]), default="all")
    course_ids = SelectMultipleField("Courses", coerce=int, validators=[Optional()],
                                     description="Only when it unlocks chosen courses.")
    is_active = BooleanField("Active (open to new sign-ups)", default=True,
                             description="A retired membership takes no new sign-ups; existing subscribers "
                                         "keep theirs until they end.")
    submit = SubmitField("Save membership")

    def prices(self) -> dict:
        """{"monthly_price", "yearly_price"} in minor units; each one that does not parse is
        None, with its error on its field (all of them at once)."""
        currency = self.currency.data or "USD"
        return {name: _parsed(getattr(self, name), lambda text: amount_in_minor(text, currency))
                for name in ("monthly_price", "yearly_price")}


