"""(being written: see portal/blueprints/orders/__init__.py)"""
from portal.blueprints.orders import bp  # noqa: F401
