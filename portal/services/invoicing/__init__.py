"""Invoicing: drafting and issuing invoices and credit notes (suppliers), the monthly run,
stored documents (PDF, KSeF FA(3) XML), approval, disputes and payments (buyers), lists, aging and
statements. Services never commit: the caller's transaction keeps everything together."""
