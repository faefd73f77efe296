"""Staff pages under /staff: coupons, courses, payments, enrollments, webhooks, analytics."""
