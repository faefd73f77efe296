"""The public catalog: the course list and each course's page."""
