"""Report cells: the responses' sums per design cell, kept up to date on every write.

A cell is one questionnaire version × agency × month × stratum × PSU × channel ×
verified × suspicious. It holds, per rating slot, the unweighted and weighted
sums that analysis.totals needs (answered, satisfied, rating), and per element
the number of responses answering any of its criteria. The leaders' reports sum
cells instead of scanning every response, so the first request after a restart
or with a new filter reads thousands of cells, not a million responses. Writers
add their responses in the same transaction (app.services.reports.cells).
"""

from __future__ import annotations

from sqlalchemy import DDL, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime
from app.models.response import RATING_SLOTS

# Per rating slot: a = answered, s = satisfied, r = sum of ratings; w* weighted.
SLOT_SUMS = ("a", "s", "r", "wa", "ws", "wr")
CELL_KEY = ("version_id", "agency_id", "month", "stratum", "psu", "channel", "verified", "suspicious")


def _sum_column(name: str):
    kind = Float if name.startswith(("w", "r")) else BigInteger().with_variant(Integer, "sqlite")
    return mapped_column(kind, nullable=False, default=0, server_default="0")


# Elements can be at most as many as rating slots (each holds at least one likert question).
CellSums = type(
    "CellSums",
    (),
    {f"{kind}{slot}": _sum_column(f"{kind}{slot}")
     for slot in range(1, RATING_SLOTS + 1) for kind in SLOT_SUMS}
    | {f"e{slot}": _sum_column(f"e{slot}") for slot in range(1, RATING_SLOTS + 1)},
)


class ReportCell(CellSums, Base):
    """Sums of the responses in one design cell (see the module docstring)."""

    __tablename__ = "report_cell"
    __table_args__ = (
        Index("ux_report_cell_key", *CELL_KEY, unique=True),
        # The packed columns' staleness check (cells touched since a pack) and a month's live read.
        Index("ix_report_cell_touched", "version_id", "touched"),
        Index("ix_report_cell_month", "version_id", "month"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    month: Mapped[str] = mapped_column(String(7))
    stratum: Mapped[str] = mapped_column(String(64))
    # A response without a PSU is its own PSU: "#<response id>" (FORMATS.md §3).
    psu: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    verified: Mapped[bool] = mapped_column(Boolean)
    suspicious: Mapped[bool] = mapped_column(Boolean)
    n: Mapped[int] = _sum_column("n")
    w: Mapped[float] = _sum_column("w")
    # Responses answering at least one criterion (the OVERALL index's n).
    any_answered: Mapped[int] = _sum_column("any_answered")
    # When a writer last changed the cell (the database's clock, seconds since 1970): the months
    # whose packed columns (ReportCellColumn) are older are read from the cells again.
    touched: Mapped[float] = mapped_column(Float, nullable=False, default=0, server_default="0")


class ReportCellsBuilt(Base):
    """Versions whose cells hold all their responses (built once, then kept by every writer)."""

    __tablename__ = "report_cells_built"

    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"), primary_key=True)
    built_at = mapped_column(UTCDateTime)
    # The time zone the cells' months were cut in (config TIMEZONE); another one means a rebuild.
    timezone: Mapped[str | None] = mapped_column(String(64))


class ReportCellColumn(Base):
    """One column of one month's report cells, packed: the values of every cell of a version and
    month, in cell id order, as little-endian bytes (float64, or JSON for the text keys).

    A cold report reads a dozen rows per column instead of 120,000 wide cells; a month whose
    cells were touched after `packed_at` (less a settling margin) is read from the cells.
    """

    __tablename__ = "report_cell_column"

    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The database's clock when the cells were read (seconds since 1970); negative: stale.
    packed_at: Mapped[float] = mapped_column(Float)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


# Packed floats do not compress: PostgreSQL stores them out of line as they are (as the migration does).
event.listen(ReportCellColumn.__table__, "after_create",
             DDL("ALTER TABLE report_cell_column ALTER COLUMN payload SET STORAGE EXTERNAL")
             .execute_if(dialect="postgresql"))
