"""Dossier fixtures: a province with a district (and a commune under it) and a department, a counter
and a service, and the text of a small dossier list."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.extensions import db
from app.models import Agency, Service, ServicePoint
from tests.admin.conftest import make_agency, make_counter

HEADER = ("dossier_code,agency,counter,service,procedure,procedure_group,received,completed,due,on_time,"
          "apologies,contact_channel,contact_address,contact_name\n")


@dataclass
class Org:
    """P > H1 > X1, and P > D1; counter X1-Q1 in X1; service LAND."""

    province: Agency
    district: Agency
    commune: Agency
    department: Agency
    counter: ServicePoint
    service: Service


@pytest.fixture
def org(app) -> Org:
    """The small organisation every dossier test imports into."""
    province = make_agency("P", "province")
    district = make_agency("H1", "district", province)
    commune = make_agency("X1", "commune", district)
    department = make_agency("D1", "department", province)
    counter = make_counter("X1-Q1", commune)
    service = Service(code="LAND", name_vi="Đất đai", name_en="Land")
    db.session.add(service)
    db.session.commit()
    return Org(province, district, commune, department, counter, service)


def dossier_csv(*rows: str) -> bytes:
    """A dossier list in the documented columns."""
    return (HEADER + "".join(row + "\n" for row in rows)).encode()
