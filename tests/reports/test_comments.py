"""The comments page: 50 a page, the total shown, page links that keep every filter, escaping."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.models import Response, Service
from app.services.questionnaires.versions import latest_published
from app.services.reports.comments import CommentPage

PAGE_LINK = re.compile(r'<nav class="pager"[^>]*>(.*?)</nav>', re.S)


def _text(number: int) -> str:
    return f"Ý kiến số {number:03d}"


@pytest.fixture
def service(province) -> Service:
    """120 comments (newest first: number 1 is the newest) under a service no demo response uses.

    Odd-numbered comments carry a rating of 1 (low); blank and missing comments are not comments.
    """
    version = latest_published("sipas-2017")
    service = Service(code="TEST-COMMENTS", name_vi="Dịch vụ thử", name_en="Test service")
    db.session.add(service)
    db.session.flush()
    newest = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
    where = {"version_id": version.id, "agency_id": province.district.id, "channel": "kiosk",
             "service_id": service.id}
    for i in range(120):
        number = i + 1
        db.session.add(Response(
            uid=f"comment-{number:03d}", submitted_at=newest - timedelta(minutes=i),
            r1=1 if number % 2 else 5, r2=4,
            answers={"COMMENT": _text(number) + (" <b>đậm</b>" if number == 101 else "")}, **where))
    for uid, answers in (("blank-1", {"COMMENT": "   "}), ("blank-2", {"COMMENT": "\n\t "}), ("none", {})):
        db.session.add(Response(uid=uid, submitted_at=newest, r1=1, answers=answers, **where))
    db.session.commit()
    return service


def _pager_hrefs(page: str) -> dict[str, str]:
    """Each pager link's text → its address."""
    nav = PAGE_LINK.search(page)
    assert nav, "no pager"
    return {anchor.group(2).strip(): html.unescape(anchor.group(1))
            for anchor in re.finditer(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(1))}


def _pager_links(page: str) -> dict[str, dict[str, list[str]]]:
    """Each pager link's text → its query arguments."""
    return {text: parse_qs(urlsplit(href).query) for text, href in _pager_hrefs(page).items()}


def _count(page: str) -> str:
    match = re.search(r'<p class="count" id="comment-count">(.*?)</p>', page, re.S)
    assert match, "no count"
    return match.group(1)


def test_page_two_shows_the_51st_comment_and_the_count_is_right(as_user, province, service):
    client = as_user("district")
    first = client.get(f"/reports/comments?service={service.id}").get_data(as_text=True)
    assert _count(first).startswith("120 ")
    assert _text(1) in first and _text(50) in first and _text(51) not in first
    links = _pager_links(first)
    assert set(links) >= {"2", "3"} and "1" not in links, "page links; the current page is not a link"
    second_link = links["2"]
    assert second_link["page"] == ["2"] and second_link["service"] == [str(service.id)]
    assert second_link["agency"] == [str(province.district.id)]

    second = client.get(f"/reports/comments?service={service.id}&page=2").get_data(as_text=True)
    assert _text(51) in second and _text(100) in second
    assert _text(50) not in second and _text(101) not in second
    assert "51–100" in _count(second) and "2" in _count(second)
    # Newest first across the page boundary.
    assert second.index(_text(51)) < second.index(_text(52)) < second.index(_text(100))

    third = client.get(f"/reports/comments?service={service.id}&page=3").get_data(as_text=True)
    assert _text(101) in third and _text(120) in third and _text(100) not in third
    assert third.count('<td class="comment">') == 20


def test_page_links_keep_every_filter_and_the_low_rating_choice(as_user, province, service):
    client = as_user("district")
    query = f"service={service.id}&channel=kiosk&suspicious=1&start=2025-01&end=2025-12&low=1"
    first = client.get(f"/reports/comments?{query}").get_data(as_text=True)
    # Odd numbers are low: 60 comments, so two pages; the 51st low comment is number 101.
    assert _count(first).startswith("60 ")
    links = _pager_links(first)
    expected = {"service": [str(service.id)], "channel": ["kiosk"], "suspicious": ["1"], "start": ["2025-01"],
                "end": ["2025-12"], "low": ["1"], "agency": [str(province.district.id)], "page": ["2"]}
    assert links["2"] == expected
    next_page = [args for text, args in links.items() if text.endswith("→")]
    assert next_page == [expected]

    second = client.get(_pager_hrefs(first)["2"]).get_data(as_text=True)
    assert "51–60" in _count(second)
    assert _text(101) in second.replace(" &lt;b&gt;đậm&lt;/b&gt;", "")
    assert _text(99) not in second and _text(103) in second and _text(104) not in second
    back = _pager_links(second)
    assert back["1"]["low"] == ["1"] and back["1"]["channel"] == ["kiosk"]


def test_low_ratings_highlighted_and_text_escaped_on_a_later_page(as_user, province, service):
    page = as_user("district").get(f"/reports/comments?service={service.id}&page=3").get_data(as_text=True)
    assert "<b>đậm</b>" not in page and "&lt;b&gt;đậm&lt;/b&gt;" in page
    rows = re.findall(r"<tr( class=\"low\")?>\s*<td>[^<]*</td><td>[^<]*</td><td>Ki-ốt tại quầy</td>\s*"
                      r'<td class="comment">Ý kiến số (\d+)', page)
    assert len(rows) == 20
    # Ratings show the question's text, not its code (issue 15).
    assert re.search(r'<li class="r\d" data-code="[A-Z0-9_]+">[^<:]{12,}: <strong>\d</strong></li>', page)
    assert not re.search(r">[A-Z][0-9]_[0-9]+: ", page)
    for low, number in rows:
        assert bool(low) == (int(number) % 2 == 1), number


def test_filters_still_narrow_the_comments(as_user, province, service):
    client = as_user("district")
    none = client.get(f"/reports/comments?service={service.id}&channel=qr").get_data(as_text=True)
    assert "comment-count" not in none and _text(1) not in none
    assert client.get(f"/reports/comments?service={service.id}&agency={province.other_district.id}"
                      "&page=2").status_code == 403
    # The province leader sees the same 120 (the district lies in the province), none in the other district.
    client = as_user("province")
    whole = client.get(f"/reports/comments?service={service.id}").get_data(as_text=True)
    assert _count(whole).startswith("120 ")
    other = client.get(f"/reports/comments?service={service.id}&agency={province.other_district.id}")
    assert other.status_code == 200 and _text(1) not in other.get_data(as_text=True)


def test_a_page_past_the_end_shows_the_last_page(as_user, province, service):
    client = as_user("district")
    page = client.get(f"/reports/comments?service={service.id}&page=99").get_data(as_text=True)
    assert _text(120) in page and "101–120" in _count(page)
    page = client.get(f"/reports/comments?service={service.id}&page=zero").get_data(as_text=True)
    assert _text(1) in page and "1–50" in _count(page)


def test_blank_comments_are_not_counted(as_user, province, service):
    page = as_user("district").get(f"/reports/comments?service={service.id}&page=3").get_data(as_text=True)
    assert page.count('<td class="comment">') == 20
    assert '<td class="comment"></td>' not in page


def test_the_page_window():
    listing = CommentPage(comments=[], total=1000, page=10, per_page=50)
    assert listing.pages == 20
    assert listing.window() == [1, None, 8, 9, 10, 11, 12, None, 20]
    assert CommentPage([], 120, 1, 50).window() == [1, 2, 3]
    assert CommentPage([], 0, 1, 50).pages == 1


def test_vietnamese_by_default_english_on_request(as_user, province, service):
    client = as_user("district")
    page = client.get(f"/reports/comments?service={service.id}&page=2").get_data(as_text=True)
    assert "120 ý kiến" in _count(page) and "trang 2/3" in _count(page)
    assert "Trang trước" in page and "Trang sau" in page and 'aria-label="Các trang ý kiến"' in page
    page = client.get(f"/reports/comments?service={service.id}&page=2&lang=en").get_data(as_text=True)
    assert "120 comments" in _count(page) and "page 2 of 3" in _count(page)
    assert "Previous page" in page and "Next page" in page


def test_comments_of_every_version_are_listed_together(as_user, province, service):
    from analysis.questionnaire import parse_questionnaire
    from app.services.questionnaires.versions import publish_questionnaire, questionnaire_of

    old = questionnaire_of(latest_published("sipas-2017"))
    new_version, _ = publish_questionnaire(parse_questionnaire(dict(old.definition, version=old.version + 1),
                                                               source="test"))
    for i in range(3):
        db.session.add(Response(uid=f"v2-comment-{i}", version_id=new_version.id, channel="kiosk",
                                agency_id=province.district.id, service_id=service.id, r1=2 if i == 0 else 4,
                                submitted_at=datetime(2025, 11, 21, 12, i, tzinfo=UTC),
                                answers={"COMMENT": f"Phiên bản 2, ý kiến {i}"}))
    db.session.commit()
    client = as_user("district")
    page = client.get(f"/reports/comments?service={service.id}").get_data(as_text=True)
    assert _count(page).startswith("123 ")
    # Newest first across versions: the three of version 2, then the newest of version 1.
    newest = [f"Phiên bản 2, ý kiến {i}" for i in (2, 1, 0)]
    order = [page.index(t) for t in (*newest, _text(1), _text(47))]
    assert order == sorted(order) and _text(48) not in page
    low = client.get(f"/reports/comments?service={service.id}&low=1").get_data(as_text=True)
    assert _count(low).startswith("61 ")
    assert "Phiên bản 2, ý kiến 0" in low and "Phiên bản 2, ý kiến 1" not in low
