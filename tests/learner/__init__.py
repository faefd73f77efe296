"""Tests of the learner side: progress, access, dashboard, certificates (issue 6)."""
