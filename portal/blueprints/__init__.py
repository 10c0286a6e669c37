"""One package per feature: __init__ (the blueprint), views, forms."""
