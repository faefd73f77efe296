"""The referral link: `/r/<code>` leaves the referral cookie and sends the visitor on (issue 20)."""
