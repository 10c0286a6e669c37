"""(being written)"""
from portal.blueprints.supplier import bp  # noqa: F401
