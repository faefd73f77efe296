"""The public learning paths: the list, each path's page and "Enroll in path" (issue 20)."""
