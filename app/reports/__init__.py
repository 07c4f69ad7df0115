"""Reports blueprint: dashboards, rankings, exports for leaders.

Every route is guarded by app.web.guards.requires("reports") and, for an
agency, ensure_scope: leaders and managers see only their agency's subtree.
The leaders' reports themselves arrive with issue 6.
"""

from flask import Blueprint

bp = Blueprint("reports", __name__)

import app.reports.campaigns  # noqa: E402,F401  (issue 19: a survey campaign's estimates)
import app.reports.exports  # noqa: E402,F401  (issue 6: dashboards and exports; imports dashboard)
import app.reports.national  # noqa: E402,F401  (issue 20: the national ranking of a national installation)
import app.reports.questions  # noqa: E402,F401  (issue 15: every question, the PDF report)
from app.reports import cases, labels, views  # noqa: E402,F401  (routes and template helpers attach to bp)
