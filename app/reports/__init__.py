"""Reports blueprint: dashboards, rankings, exports for leaders.

Its routes arrive with accounts (issue 4) and the leaders' reports (issue 6).
"""

from flask import Blueprint

bp = Blueprint("reports", __name__)
