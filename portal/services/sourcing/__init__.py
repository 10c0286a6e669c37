"""Sourcing: RFQs, supplier quotes, clarifications, comparison and award."""
