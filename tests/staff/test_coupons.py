"""Staff coupon pages: validation with field errors, audit entries, list filters, detail totals,
deactivate / delete rules, the live code check, and bulk generation."""
import csv
import io
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from extensions import db
from models import AuditEvent, Coupon, DiscountType, User, coupon_courses
from services.coupons import admin as coupon_admin, redemptions
from tests import factories
from tests.helpers import post_confirmed, post_form, writing_like_a_request
from tests.staff import builders

VALID = {"code": "spring-25", "name": "Spring sale", "discount_type": "PERCENTAGE", "value": "25",
         "currency": "", "max_uses": "100", "per_learner_limit": "1", "is_active": "y"}


def _audit(action):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_coupon_stores_upper_case_code_and_writes_an_audit_entry(staff_client, staff, paid_course):
    response = post_form(staff_client, "/staff/coupons/new",
                         {**VALID, "course_ids": [str(paid_course.id)], "minimum_amount": "20",
                          "maximum_discount": "15.50", "currency": "USD",
                          "valid_from": "2026-01-01T00:00", "valid_until": "2026-12-31T23:59", "is_public": "y"})
    assert response.status_code == 302
    coupon = db.session.scalar(db.select(Coupon))
    assert coupon.code == "SPRING-25" and coupon.percent_off == 25 and coupon.amount_off is None
    assert coupon.minimum_amount == 2000 and coupon.maximum_discount == 1550 and coupon.is_public
    assert coupon.valid_from == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert [c.id for c in coupon.applicable_courses] == [paid_course.id]
    [entry] = _audit("coupon.created")
    assert entry.actor_id == staff.id and entry.after["code"] == "SPRING-25" and entry.before is None


@pytest.mark.parametrize("changes,field,message", [
    ({"value": "0"}, "value", "more than 0 and at most 100"),
    ({"value": "100.5"}, "value", "more than 0 and at most 100"),
    ({"value": "-5"}, "value", "more than 0 and at most 100"),
    ({"value": "abc"}, "value", "Enter a number"),
    ({"value": "NaN"}, "value", "Enter a number"),
    ({"value": "12.345"}, "value", "two decimals"),
    ({"discount_type": "FIXED_AMOUNT", "value": "0", "currency": "USD"}, "value", "more than 0"),
    ({"discount_type": "FIXED_AMOUNT", "value": "10", "currency": ""}, "currency", "needs a currency"),
    ({"discount_type": "FIXED_AMOUNT", "value": "10.999", "currency": "USD"}, "value", "at most 2 decimals"),
    ({"discount_type": "FIXED_AMOUNT", "value": "10.5", "currency": "JPY"}, "value", "at most 0 decimals"),
    ({"discount_type": "BOGUS"}, "discount_type", "Not a valid choice"),
    ({"code": "ab"}, "code", "3–32 characters"),
    ({"code": "has space"}, "code", "3–32 characters"),
    ({"code": "ÜBER10"}, "code", "3–32 characters"),
    ({"code": "X" * 33}, "code", "32"),
    ({"name": ""}, "name", "required"),
    ({"valid_from": "2026-05-01T00:00", "valid_until": "2026-04-01T00:00"}, "valid_until", "after the start"),
    ({"valid_from": "2026-05-01T00:00", "valid_until": "2026-05-01T00:00"}, "valid_until", "after the start"),
    ({"valid_from": "not a date"}, "valid_from", "Not a valid datetime"),
    ({"max_uses": "-1"}, "max_uses", "between 0 and"),
    ({"per_learner_limit": "0"}, "per_learner_limit", "between 1 and"),
    ({"minimum_amount": "lots"}, "minimum_amount", "Enter a number"),
    ({"minimum_amount": "1e1000"}, "minimum_amount", "too large"),
    ({"value": "1e1000"}, "value", "more than 0 and at most 100"),
    ({"max_uses": "99999999999999999999"}, "max_uses", "between 0 and"),
    ({"course_ids": ["999999"]}, "course_ids", "Not a valid choice"),
])
def test_coupon_form_validation_shows_field_errors(staff_client, changes, field, message):
    response = post_form(staff_client, "/staff/coupons/new", {**VALID, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message.lower() in page.lower()
    assert db.session.scalar(db.select(sa.func.count()).select_from(Coupon)) == 0


def test_duplicate_code_is_refused_case_insensitively(staff_client):
    factories.coupon(code="SPRING-25")
    response = post_form(staff_client, "/staff/coupons/new", {**VALID, "code": "Spring-25"})
    assert response.status_code == 422
    assert "already taken" in response.get_data(as_text=True)


def test_service_reports_every_problem_at_once(app):
    errors = coupon_admin.validate(coupon_admin.CouponInput(
        code="x", name="", discount_type="FIXED_AMOUNT", amount_off=None, currency=None,
        valid_from=datetime(2026, 2, 1, tzinfo=timezone.utc), valid_until=datetime(2026, 1, 1, tzinfo=timezone.utc)))
    assert set(errors) == {"code", "name", "value", "currency", "valid_until"}


def test_edit_records_before_and_after_and_keeps_the_code_check_for_itself(staff_client):
    coupon = factories.coupon(code="EDITME", percent=10)
    page = staff_client.get(f"/staff/coupons/{coupon.id}/edit").get_data(as_text=True)
    assert 'value="EDITME"' in page and 'value="10"' in page
    response = post_form(staff_client, f"/staff/coupons/{coupon.id}/edit", {**VALID, "code": "EDITME", "value": "15"})
    assert response.status_code == 302
    [entry] = _audit("coupon.updated")
    assert entry.before["percent_off"] == "10.00" and entry.after["percent_off"] == "15"


def test_max_uses_cannot_drop_below_uses_already_taken(staff_client, learner, paid_course):
    coupon = factories.coupon(code="HELD", max_uses=5, current_uses=2)
    builders.redemption(coupon, learner, paid_course, status="RESERVED",
                        expires_at=datetime.now(timezone.utc) + timedelta(minutes=20))
    response = post_form(staff_client, f"/staff/coupons/{coupon.id}/edit", {**VALID, "code": "HELD", "max_uses": "2"})
    assert response.status_code == 422
    assert "Already 3 used or reserved" in response.get_data(as_text=True)


def test_live_code_check_fragment(staff_client):
    factories.coupon(code="TAKEN")
    taken = staff_client.get("/staff/coupons/check-code?code=taken", headers={"HX-Request": "true"})
    assert taken.status_code == 200 and "already taken" in taken.get_data(as_text=True)
    assert taken.get_data(as_text=True).lstrip().startswith('<p id="code-check"')
    assert "is available" in staff_client.get("/staff/coupons/check-code?code=fresh-1").get_data(as_text=True)
    assert "3–32 characters" in staff_client.get("/staff/coupons/check-code?code=a!").get_data(as_text=True)
    own = factories.coupon(code="MINE")
    assert "is available" in staff_client.get(
        f"/staff/coupons/check-code?code=MINE&coupon_id={own.id}").get_data(as_text=True)


def test_deactivate_and_reactivate_are_audited(staff_client):
    coupon = factories.coupon(code="TOGGLE")
    post_confirmed(staff_client, f"/staff/coupons/{coupon.id}/deactivate")
    db.session.refresh(coupon)
    assert coupon.is_active is False
    post_form(staff_client, f"/staff/coupons/{coupon.id}/reactivate")
    db.session.refresh(coupon)
    assert coupon.is_active is True
    assert len(_audit("coupon.deactivated")) == 1 and len(_audit("coupon.reactivated")) == 1


def test_a_used_coupon_is_never_hard_deleted(staff_client, learner, paid_course):
    used = factories.coupon(code="USED")
    builders.redemption(used, learner, paid_course, status="RELEASED")
    response = post_confirmed(staff_client, f"/staff/coupons/{used.id}/delete")
    assert response.status_code == 409
    assert db.session.get(Coupon, used.id) is not None
    unused_id = factories.coupon(code="UNUSED").id  # the object is gone once the request deletes its row
    assert post_confirmed(staff_client, f"/staff/coupons/{unused_id}/delete").status_code == 302
    assert db.session.get(Coupon, unused_id) is None
    assert [e.before["code"] for e in _audit("coupon.deleted")] == ["UNUSED"]


def test_list_filters_search_sort_and_paginate(staff_client, app):
    now = datetime.now(timezone.utc)
    factories.coupon(code="ACTIVE1", name="Open one")
    factories.coupon(code="SOON1", valid_from=now + timedelta(days=3))
    factories.coupon(code="OLD1", valid_until=now - timedelta(days=1))
    factories.coupon(code="FULL1", max_uses=2, current_uses=2)
    factories.coupon(code="OFF1", is_active=False)
    factories.coupon(code="GONE1", max_uses=1, current_uses=1, valid_until=now - timedelta(days=1))  # expired first
    for status, codes in [("active", {"ACTIVE1"}), ("scheduled", {"SOON1"}), ("expired", {"OLD1", "GONE1"}),
                          ("used_up", {"FULL1"}), ("inactive", {"OFF1"})]:
        page = staff_client.get(f"/staff/coupons?status={status}").get_data(as_text=True)
        shown = {c for c in ("ACTIVE1", "SOON1", "OLD1", "FULL1", "OFF1", "GONE1") if f"<code>{c}</code>" in page}
        assert shown == codes, status
    assert "<code>ACTIVE1</code>" in staff_client.get("/staff/coupons?q=open").get_data(as_text=True)
    for number in range(30):
        factories.coupon(code=f"PAGE{number:02d}")
    first = staff_client.get("/staff/coupons?q=page&sort=code&dir=asc").get_data(as_text=True)
    assert "<code>PAGE00</code>" in first and "<code>PAGE25</code>" not in first and "Page 1 of 2" in first
    second = staff_client.get("/staff/coupons?q=page&sort=code&dir=asc&page=2").get_data(as_text=True)
    assert "<code>PAGE25</code>" in second and "<code>PAGE00</code>" not in second
    assert staff_client.get("/staff/coupons?page=-3&sort=nonsense&status=weird").status_code == 200


def test_detail_shows_redemptions_reservations_and_totals(staff_client, learner, paid_course):
    coupon = factories.coupon(code="TOTALS", percent=20)
    other = factories.user(email="buyer2@example.com")
    first = factories.payment_session(learner, paid_course, "COMPLETED", discount=1980, coupon=coupon, hold=False)
    second = factories.payment_session(other, paid_course, "COMPLETED", discount=1980, coupon=coupon, hold=False,
                                       amount_refunded=2000)
    builders.redemption(coupon, learner, paid_course, discount=1980, payment_session=first)
    builders.redemption(coupon, other, paid_course, discount=1980, payment_session=second)
    builders.redemption(coupon, factories.user(email="holder@example.com"), paid_course, status="RESERVED",
                        discount=1980, expires_at=datetime.now(timezone.utc) + timedelta(minutes=30))
    page = staff_client.get(f"/staff/coupons/{coupon.id}").get_data(as_text=True)
    assert "holder@example.com" in page and "buyer2@example.com" in page
    assert "<dt>Live reservations</dt><dd>1</dd>" in page
    assert redemptions.usage_totals(coupon) == [{"currency": "USD", "uses": 2, "discount": 3960,
                                             "revenue": 7920 + 7920 - 2000}]
    assert "$39.60" in page and "$138.40" in page


def test_bulk_generation_makes_unique_codes_with_shared_settings_and_a_csv(staff_client, staff, paid_course):
    template = factories.coupon(code="TEMPLATE", percent=30, courses=[paid_course])
    response = post_form(staff_client, f"/staff/coupons/{template.id}/bulk",
                         {"prefix": "vip-", "count": "250", "max_uses": "1"})
    assert response.status_code == 302
    batch_id = response.headers["Location"].rsplit("/", 1)[-1]
    codes = db.session.scalars(db.select(Coupon).where(Coupon.batch_id == batch_id)).all()
    assert len(codes) == 250 and len({c.code for c in codes}) == 250
    assert all(c.code.startswith("VIP-") and coupon_admin.CODE_PATTERN.match(c.code) for c in codes)
    assert all(c.percent_off == 30 and c.max_uses == 1 and not c.is_public for c in codes)
    linked = db.session.scalar(db.select(sa.func.count()).select_from(coupon_courses)
                               .where(coupon_courses.c.course_id == paid_course.id))
    assert linked == 251  # the template and every generated code
    download = staff_client.get(f"/staff/coupons/batches/{batch_id}.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0] == ["code", "max_uses", "uses"] and {r[0] for r in rows[1:]} == {c.code for c in codes}
    [entry] = _audit("coupon.bulk_generated")
    assert entry.after["count"] == 250 and entry.after["batch_id"] == batch_id and entry.actor_id == staff.id


def test_bulk_generation_skips_codes_that_already_exist(app, staff, monkeypatch):
    template = factories.coupon(code="BASE")
    factories.coupon(code="X-AAAAAAAAAAAA")  # the first code the patched source draws (12 random chars)
    draws = iter("A" * 12)
    real_choice = coupon_admin.secrets.choice
    monkeypatch.setattr(coupon_admin.secrets, "choice", lambda seq: next(draws, None) or real_choice(seq))
    batch_id = coupon_admin.generate_bulk(template, prefix="X-", count=3, actor=staff)
    db.session.commit()
    codes = coupon_admin.batch_codes(batch_id)
    assert next(draws, None) is None  # the colliding code was drawn, then replaced
    assert len(codes) == 3 and "X-AAAAAAAAAAAA" not in {code for code, _, _ in codes}


@pytest.mark.parametrize("fields,error", [({"count": "0"}, "count"), ({"count": "10001"}, "count"),
                                          ({"count": "5", "max_uses": "99999999999"}, "max_uses"),
                                          ({"count": "5", "prefix": "bad prefix!"}, "prefix")])
def test_bulk_generation_validation(staff_client, fields, error):
    template = factories.coupon(code="TPL")
    response = post_form(staff_client, f"/staff/coupons/{template.id}/bulk", fields)
    assert response.status_code == 422 and f'id="{error}-error"' in response.get_data(as_text=True)


def test_ten_thousand_codes_in_one_transaction_quickly(app, staff):
    template = factories.coupon(code="MASS", amount_off=500, currency="USD")
    started = time.perf_counter()
    batch_id = coupon_admin.generate_bulk(template, prefix="M", count=10_000, actor=staff)
    db.session.commit()
    elapsed = time.perf_counter() - started
    rows = db.session.execute(db.select(sa.func.count(), sa.func.count(sa.distinct(Coupon.code)))
                              .where(Coupon.batch_id == batch_id)).one()
    assert tuple(rows) == (10_000, 10_000)
    assert elapsed < 10, f"10,000 codes took {elapsed:.1f}s"
    sample = db.session.scalar(db.select(Coupon).where(Coupon.batch_id == batch_id).limit(1))
    assert sample.discount_type == DiscountType.FIXED_AMOUNT and sample.amount_off == 500


def test_bulk_generation_rolls_back_as_a_whole(app, staff, monkeypatch):
    template = factories.coupon(code="ATOMIC")
    monkeypatch.setattr(coupon_admin.audit, "record", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        coupon_admin.generate_bulk(template, prefix="R", count=50, actor=staff)
    db.session.rollback()
    assert db.session.scalar(db.select(sa.func.count()).select_from(Coupon)) == 1


def test_lowering_max_uses_waits_for_a_checkout_holding_the_coupon(app, staff, learner, paid_course):
    """A checkout reserving a use holds the coupon row; the staff edit waits for it and then
    counts its reservation, so max_uses never drops under uses + live reservations."""
    import threading

    from models import CouponRedemption, RedemptionStatus
    from services.coupons import redemptions
    from tests.isolation import end_test_transaction

    coupon = factories.coupon(code="RACE", max_uses=5, current_uses=1)
    # Plain ids: the thread must not touch this thread's session (expired objects would reload through it).
    coupon_id, learner_id, course_id, staff_id = coupon.id, learner.id, paid_course.id, staff.id
    locked, finished = threading.Event(), threading.Event()

    def checkout():
        with app.app_context():
            held = redemptions.lock(coupon_id)
            locked.set()
            time.sleep(0.5)
            db.session.add(CouponRedemption(coupon_id=held.id, user_id=learner_id, course_id=course_id,
                                            status=RedemptionStatus.RESERVED, currency="USD",
                                            expires_at=datetime.now(timezone.utc) + timedelta(minutes=30)))
            db.session.commit()
            finished.set()

    thread = threading.Thread(target=checkout)
    end_test_transaction()  # the thread must not wait on the test's transaction
    thread.start()
    assert locked.wait(5)
    data = coupon_admin.CouponInput(code="RACE", name="Race", discount_type="PERCENTAGE",
                                     percent_off=Decimal(10), max_uses=1)
    with writing_like_a_request(), pytest.raises(coupon_admin.CouponInvalid) as refused:
        coupon_admin.update(db.session.get(Coupon, coupon_id), data, actor=db.session.get(User, staff_id))
    assert finished.is_set()  # the edit waited for the checkout's commit
    assert "Already 2 used or reserved" in refused.value.errors["max_uses"]
    thread.join(5)
