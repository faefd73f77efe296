"""The learner's side: dashboard, lectures, progress and certificates."""
