"""Warm a server process before it forks its workers (gunicorn's arbiter, deploy/gunicorn.conf.py).

A new worker, and gunicorn recycles each one after max_requests, paid its first
citizen's post about 0.2 s (compiling the report-cell statements, 0.1 s per
questionnaire version) and its first form 0.05 s (the templates). Built once in
the arbiter, they are inherited by every worker it forks.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services.reports import cells as report_cells

# The citizen's pages, and the leaders' overview and ranking (issue 15, item 7: compiling these
# took 0.3-0.6 s of a new worker's first cold overview); the rest is not on anyone's hot path.
TEMPLATES = ("public/survey.html", "public/thanks.html", "kiosk/survey.html", "kiosk/thanks.html",
             "public/not_found.html", "errors/error.html", "reports/overview.html", "reports/ranking.html")


def warm_process(app: Flask) -> int:
    """Compile the citizen templates and the report-cell statements; the number of versions warmed.

    The database connections used are closed again: none may be shared with a forked worker.
    A database that cannot be read leaves the statements to be built on first use.
    """
    for name in TEMPLATES:
        app.jinja_env.get_template(name)
    with app.app_context():
        try:
            return report_cells.warm_statements()
        except SQLAlchemyError as exc:
            app.logger.warning("report-cell statements not warmed: %s", type(exc).__name__)
            return 0
        finally:
            db.session.remove()
            db.engine.dispose()
