"""The official report as a PDF: A4, the fonts embedded, and the web pages' figures in its text.

Read back with poppler-utils (pdftotext, pdfinfo, pdffonts), which .ci/run installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from app.services.reports import estimates as rs
from app.services.reports import pages, questions

PERIOD = "start=2025-01&end=2025-12"
LABELS = {"_title": "Channel"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's poppler-utils")
    return path


def _pdf(client, province, lang, tmp_path, extra=""):
    response = client.get(f"/reports/report.pdf?agency={province.province.id}&{PERIOD}&lang={lang}{extra}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    path = tmp_path / f"report-{lang}.pdf"
    path.write_bytes(response.data)
    text = subprocess.run([_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return path, " ".join(text.split())


@pytest.mark.parametrize("lang, words", [
    ("vi", ["Báo cáo mức độ hài lòng của người dân", "Phương pháp", "Xếp hạng", "Mong muốn", "Người trả lời",
            "Ý kiến",
            "Tiếp cận dịch vụ", "Nhìn chung, Ông/Bà hài lòng như thế nào về sự phục vụ"]),
    ("en", ["Citizen satisfaction report", "Method", "Ranking", "Expectations", "Respondents", "Comments",
            "Access to the service", "Overall, how satisfied are you with the service"]),
])
def test_pdf_holds_the_pages_figures(as_user, province, tmp_path, lang, words):
    client = as_user("province")
    path, text = _pdf(client, province, lang, tmp_path)
    for word in words:
        assert word in text, word
    filters = rs.ReportFilters(start="2025-01", end="2025-12")
    overview = pages.build_overview(province.province.id, filters)
    ranking = pages.build_ranking(province.province.id, filters, lang)
    # the overview page's figures, with two decimals
    page = client.get(f"/reports/overview?agency={province.province.id}&{PERIOD}&lang={lang}")
    page = page.get_data(as_text=True)
    overall = overview.record("OVERALL")
    assert f"{overall['estimate']:.2f}" in text
    assert f"{overall['ci_low']:.2f} – {overall['ci_high']:.2f}" in text
    assert f"{overall['estimate']:.1f}" in page or f"{overall['estimate']:.2f}" in page
    for element in overview.elements:
        assert f"{element['estimate']:.2f} {element['ci_low']:.2f} – {element['ci_high']:.2f}" in text
    # every ranked agency by name, with its index
    assert ranking.rows
    for row in ranking.rows:
        assert row["name"] in text and f"{row['record']['estimate']:.2f}" in text
        if row.get("rank_low") is not None:  # the ranking's rank interval, where the ranking gives one
            assert f"{row['rank']} ({row['rank_low']}–{row['rank_high']})" in text
    # the questions page's shares
    shares = questions.build_questions(province.province.id, filters, lang, LABELS, "V")
    item = next(i for i in shares.items if i["code"] == "OVERALL")["record"]
    assert f"{item['estimate']:.2f} {item['ci_low']:.2f} – {item['ci_high']:.2f}" in text
    top = shares.expectations[0]["options"][0]
    # the label may wrap in the table's narrow column, so the label and the figures are looked for apart
    record = top["record"]
    figures = f"{record['estimate']:.2f} {record['ci_low']:.2f} – {record['ci_high']:.2f}"
    assert top["label"] in text and figures in text
    assert str(overview.responses) in text


def test_pdf_is_a4_with_embedded_fonts(as_user, province, tmp_path):
    path, _ = _pdf(as_user("province"), province, "vi", tmp_path)
    info = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size: +595\.2\d* x 841\.89 pts \(A4\)", info)
    pages_count = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages_count >= 4
    fonts = subprocess.run([_tool("pdffonts"), str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    # the report's own face ("Report Sans", DejaVu Sans from its file), regular and bold, nothing else
    assert len(rows) == 2 and all("Report-Sans" in line for line in rows)
    assert all(line.split()[-5] == "yes" for line in rows)  # the "emb" column


def test_pdf_keeps_the_filters_and_the_scope(as_user, province, tmp_path):
    client = as_user("district")
    assert client.get(f"/reports/report.pdf?agency={province.other_district.id}").status_code in (403, 404)
    response = client.get(f"/reports/report.pdf?agency={province.district.id}&{PERIOD}&channel=qr&lang=en")
    assert response.status_code == 200
    path = tmp_path / "district.pdf"
    path.write_bytes(response.data)
    text = " ".join(subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    overview = pages.build_overview(province.district.id, rs.ReportFilters(start="2025-01", end="2025-12",
                                                                           channel="qr"))
    assert f"{overview.record('OVERALL')['estimate']:.2f}" in text and "channel = qr" in text
    assert province.district.name_en in text
