"""The reward job: on the worker's schedule, and as `flask referrals issue-rewards`."""
from datetime import datetime

from extensions import db
from jobs import huey
from models import ReferralReward, ReferralRewardStatus as R
from tests import factories
from tests.referrals.test_rules import _completed_by_webhook


def test_the_job_runs_hourly_at_23(app):
    minutes = [m for m in range(60)
               if "issue_referral_rewards" in {t.name for t in huey.read_periodic(datetime(2026, 11, 28, 9, m))}]
    assert minutes == [23]


def test_the_command_issues_due_rewards(client, runner, learner, referrer, paid_course, rewards_on):
    from services.payments import refund_policy
    refund_policy.set_course_override(paid_course, mode="no_refunds", actor=None)  # earned at once
    db.session.commit()
    _completed_by_webhook(client, factories.payment_session(learner, paid_course, referrer_id=referrer.id))
    result = runner.invoke(args=["referrals", "issue-rewards"])
    assert result.exit_code == 0 and "EARNED 1" in result.output
    db.session.expire_all()
    assert db.session.scalar(db.select(ReferralReward.status)) == R.EARNED
    assert "none due" in runner.invoke(args=["referrals", "issue-rewards"]).output
