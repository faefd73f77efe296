"""Framework-free business rules. Services flush but never commit: the caller commits once."""
