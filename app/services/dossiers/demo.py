"""A dossier list for the demo province, so that campaigns and timeliness can be tried on it.

For each agency-month of the last `months` months with responses, as many completed dossiers as
the responses divided by an assumed response rate (so the rates come out near it and never above
100 %), with dates, deadlines, apologies and made-up contacts (example.org addresses, 0900…
numbers). The list is the import's own CSV (FORMATS.md section 8), so it goes through the same checks.
"""

from __future__ import annotations

import calendar
import csv
import io
import math
import random
from datetime import date, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Agency, Service, ServicePoint
from app.services.dossiers.lists import COLUMNS
from app.services.registry.coverage import responses_by_agency_month

PROCEDURES = (("land", "Cấp giấy chứng nhận quyền sử dụng đất"), ("civil", "Đăng ký khai sinh"),
              ("civil", "Chứng thực bản sao từ bản chính"), ("business", "Đăng ký thành lập hộ kinh doanh"),
              ("transport", "Đổi giấy phép lái xe"))


def _row(rnd: random.Random, code: str, agency: str, counters: list[str], services: list[str],
         month: date, number: int) -> list[str]:
    last = calendar.monthrange(month.year, month.month)[1]
    completed = month.replace(day=rnd.randint(1, last))
    received = completed - timedelta(days=rnd.randint(0, 20))
    due = received + timedelta(days=rnd.choice((3, 5, 10, 15)))
    late = completed > due
    group, procedure = rnd.choice(PROCEDURES)
    channel = rnd.choice(("email", "sms", "post", "", ""))
    address = {"email": f"demo.{number}@example.org", "sms": f"09{number:08d}",
               "post": f"Số {number % 300 + 1} đường Thử, tỉnh Sông Xanh", "": ""}[channel]
    return [code, agency, rnd.choice(counters) if counters else "", rnd.choice(services) if services else "",
            procedure, group, received.isoformat(), completed.isoformat(), due.isoformat(), "",
            str(int(late and rnd.random() < 0.6)), channel, address, ""]


def demo_dossier_list(months: int = 3, response_rate: float = 0.5, seed: int = 2024) -> bytes:
    """The CSV bytes of a dossier list that matches the stored responses of the last `months` months."""
    agencies = dict(db.session.execute(select(Agency.id, Agency.code)).all())
    counters: dict[int, list[str]] = {}
    for code, agency_id in db.session.execute(select(ServicePoint.code, ServicePoint.agency_id)
                                              .where(ServicePoint.active.is_(True))):
        counters.setdefault(agency_id, []).append(code)
    services = sorted(db.session.scalars(select(Service.code)))
    responses = responses_by_agency_month(agencies)
    chosen = sorted({month for _, month in responses})[-months:]
    rnd = random.Random(seed)
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(COLUMNS)
    number = 0
    for (agency_id, month), n in sorted(responses.items()):
        if month not in chosen:
            continue
        first = date(int(month[:4]), int(month[5:]), 1)
        for i in range(math.ceil(n / response_rate)):
            number += 1
            code = f"DEMO-{agencies[agency_id]}-{month.replace('-', '')}-{i + 1:05d}"
            writer.writerow(_row(rnd, code, agencies[agency_id], counters.get(agency_id, []), services,
                                 first, number))
    return stream.getvalue().encode()
