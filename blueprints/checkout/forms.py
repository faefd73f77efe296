"""Forms of the course page and checkout: coupon, invitation, and button-only posts.

CSRF is enforced globally (CSRFProtect), so these forms only parse and validate fields.
"""
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional


class CouponForm(FlaskForm):
    class Meta:
        csrf = False  # the global CSRFProtect already checked the POST; GET ?coupon= needs none

    coupon_code = StringField("Coupon code", validators=[Optional(), Length(max=64)],
                              filters=[lambda value: value.strip() if isinstance(value, str) else value])


class InvitationForm(FlaskForm):
    class Meta:
        csrf = False

    invitation_code = StringField("Invitation code", validators=[Optional(), Length(max=64)],
                                  filters=[lambda value: value.strip() if isinstance(value, str) else value])
