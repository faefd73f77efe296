"""Courses: courses and their lectures.

Owns what visitors see of the catalog (`catalog`: published courses, outlines, lookups by
slug or id) and the staff side, creating and editing courses and lectures (`admin`).
Imports no other domain.
"""
