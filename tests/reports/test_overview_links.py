"""The overview's links to the agencies below (issue 15, item 7): from one URL, the same as url_for's."""

from __future__ import annotations

import html
import re

from flask import url_for

from app.services.reports import estimates as rs
from app.services.reports.context import children


def test_the_agencies_below_link_to_their_own_overview_with_the_filters(app, province, as_user):
    client = as_user("province")
    page = client.get(f"/reports/overview?agency={province.province.id}&channel=paper&weighting=unweighted")
    assert page.status_code == 200
    drill = re.search(r'<ul class="drill">(.*?)</ul>', page.get_data(as_text=True), re.S).group(1)
    hrefs = [html.unescape(href) for href in re.findall(r'href="([^"]+)"', drill)]
    with app.test_request_context():
        below = children(rs.load_tree(), province.province.id, "vi")
        expected = [url_for("reports.overview", agency=c["id"], channel="paper", weighting="unweighted")
                    for c in below]
    assert len(below) >= 2
    assert hrefs == expected
    assert re.findall(r">([^<]+)</a>", drill) == [html.escape(c["name"], quote=False) for c in below]
