"""Learning: a learner's place in a course and what they do there.

Owns enrollments (one per learner and course, the seat cap: `enrollments`), access to
lectures (`access`), progress and completion, certificates, the dashboard, waitlists and
invitations, with their staff lists. May use coupons (the code rule) and courses (the
catalog); payments calls it, never the other way.
"""
