"""Pure business rules: no Flask, no database."""
