"""Learning paths: ordered lists of courses, the product (issue 20).

Owns what a path is: the published paths and their courses in order (`catalog`) and the
staff side, creating and editing paths (`admin`). Imports courses only; learning (a learner
following a path: enrollment, unlock order, progress, the path certificate) and payments (the
path's checkout) import it, as they import courses.
"""
