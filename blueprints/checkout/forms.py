"""The learner's code fields on the course page: a coupon code for checkout, an invitation code
for a one-button enrollment. (Staff's coupon and invitation forms are in blueprints/staff/forms.py.)

CSRF is enforced globally (CSRFProtect), so these forms only parse and validate fields.
"""
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ApplyCouponForm(FlaskForm):
    class Meta:
        csrf = False  # the global CSRFProtect already checked the POST; GET ?coupon= needs none

    coupon_code = StringField("Coupon code", validators=[Optional(), Length(max=64)], filters=[_strip])


class RedeemInvitationForm(FlaskForm):
    class Meta:
        csrf = False

    invitation_code = StringField("Invitation code", validators=[Optional(), Length(max=64)], filters=[_strip])
