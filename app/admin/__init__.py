"""Admin blueprint: agencies, counters, QR posters, questionnaire designer, users, imports.

Its routes arrive with accounts and roles (issue 4); until then it serves nothing,
so no administrative page can be reached without authentication.
"""

from flask import Blueprint

bp = Blueprint("admin", __name__)
