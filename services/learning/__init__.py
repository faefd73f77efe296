"""Learning: enrollments and access, progress, the dashboard, certificates, waitlists and invitations."""
