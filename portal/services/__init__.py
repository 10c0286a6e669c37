"""Use cases with an explicit actor. They flush and audit; the caller commits once."""
