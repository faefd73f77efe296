"""Courses: the catalog visitors see, and the staff side (`admin`)."""
