"""Timeliness from the dossier list beside the index: the overview, the agency page and the PDF."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Agency, Response
from app.services.dossiers import import_dossiers
from app.services.reports.aggregates import local_month

PERIOD = "start=2025-01&end=2025-12"
HEADER = "dossier_code,agency,procedure,received,completed,due,on_time,apologies\n"


def _list(commune: str, completed_in_june: int) -> bytes:
    """In DEMO-H01 (June 2025): 3 on time, 1 late (2 apologies); in the commune `completed_in_june` more
    dossiers with no deadline known; one in July for the commune."""
    rows = ["T1,DEMO-H01,p,2025-06-01,2025-06-02,2025-06-10,,0",
            "T2,DEMO-H01,p,2025-06-01,2025-06-10,2025-06-10,,0",
            "T3,DEMO-H01,p,2025-06-01,2025-06-30,,1,0",
            "T4,DEMO-H01,p,2025-05-01,2025-06-12,2025-06-01,,2",
            f"T5,{commune},p,2025-06-20,2025-07-01,,,0"]
    rows += [f"C{i},{commune},p,2025-06-01,2025-06-15,,," for i in range(completed_in_june)]
    return (HEADER + "\n".join(rows) + "\n").encode()


def test_overview_and_agency_page_show_the_timeliness_and_the_lists_volumes(as_user, province):
    commune = "DEMO-H01-X01"
    commune_id = db.session.scalar(select(Agency.id).where(Agency.code == commune))
    june = db.session.scalar(select(func.count()).select_from(Response).where(
        Response.agency_id == commune_id, local_month(Response.submitted_at) == "2025-06"))
    report = import_dossiers(_list(commune, 40), "list.csv", None)
    assert report.ok, report.errors
    db.session.commit()
    client = as_user("district")
    url = f"/reports/overview?agency={province.district.id}&{PERIOD}"
    page = client.get(f"{url}&lang=en").get_data(as_text=True)
    assert 'id="on-time-share">75.00 %' in page
    assert "3 of 45 completed dossiers on time, 1 late; 2 apologies issued (from the dossier list)." in page
    assert "<th scope=\"row\">2025-06</th><td>44</td><td>3</td><td>1</td><td>75.00</td><td>2</td>" in page
    assert "<th scope=\"row\">2025-07</th><td>1</td><td>0</td><td>0</td><td>—</td><td>0</td>" in page
    vi = client.get(f"{url}&lang=vi").get_data(as_text=True)
    assert "Tiến độ giải quyết hồ sơ" in vi and "Hồ sơ đúng hạn" in vi
    # The commune's page: its June volume is the list's 40 dossiers, its response rate follows.
    agency = client.get(f"/reports/agencies/{commune_id}?lang=en").get_data(as_text=True)
    rate = f"{100 * june / 40:.2f} %"
    assert f"<tr><td>2025-06</td><td>{june}</td><td>40</td>\n<td>{rate}</td>" in agency
    assert "<tr><td>2025-06</td><td>40</td><td>0</td><td>0</td>\n<td>—</td><td>0</td></tr>" in agency
    assert "<tr><td>Total</td><td>41</td>" in agency


def test_pdf_has_the_timeliness_section(as_user, province, tmp_path):
    assert import_dossiers(_list("DEMO-H01-X01", 0), "list.csv", None).ok
    db.session.commit()
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail("pdftotext is missing: install Debian's poppler-utils")
    client = as_user("district")
    commune = db.session.scalar(select(Agency).where(Agency.code == "DEMO-H01-X01"))
    per_agency = [f"{province.district.name_en} 4 3 1 75.0 2", f"{commune.name_en} 1 0 0 — 0"]
    for lang, words in (("en", [*per_agency, "Timeliness of dossiers",
                                "3 of 5 completed dossiers on time, 1 late; 2 apologies issued",
                                "2025-06 4 3 1 75.0 2", "2025-07 1 0 0 — 0", "Total 5 3 1 75.0 2"]),
                        ("vi", ["Tiến độ giải quyết hồ sơ", "Tổng 5 3 1 75.0 2",
                                "3 trong 5 hồ sơ đã hoàn thành đúng hạn, 1 trễ hạn"])):
        response = client.get(f"/reports/report.pdf?agency={province.district.id}&{PERIOD}&lang={lang}")
        assert response.status_code == 200 and response.data.startswith(b"%PDF-")
        path = tmp_path / f"r-{lang}.pdf"
        path.write_bytes(response.data)
        text = " ".join(subprocess.run([tool, "-layout", str(path), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        for word in words:
            assert word in text, (lang, word)
