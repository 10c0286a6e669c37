"""Purchase orders: issue, PDF, acknowledgement, revisions, cancel, receiving."""
