"""(being written: see portal/blueprints/rfqs/__init__.py)"""
from portal.blueprints.rfqs import bp  # noqa: F401
