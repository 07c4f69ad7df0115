"""Streaming reduction: a responses CSV or Parquet file read in batches, memory bounded by cells.

Each batch (pyarrow's streaming CSV reader, or ``ParquetFile.iter_batches``)
is checked like the fast reader checks a whole file (:mod:`analysis.csv_arrow`),
reduced to its cells by :func:`analysis.totals.totals_from_codes`, and its
sums added to those of the batches before, cells matched by the *values* of
their key columns (every batch has its own dictionary). Only the cells and one
batch are ever in memory, so a file of ten million responses in a few
thousand PSUs needs no more than a small one.

A cell here is (group × calibration cell × stratum × PSU). Without a ``psu``
column every response is its own PSU, so the cells would be the rows:
``indices`` then keeps moments per (group × calibration cell × stratum)
instead (:mod:`analysis.singletons`), post-stratified or raked too;
``compare`` and ``rank`` read such a CSV whole (:mod:`analysis.io`). The
sums are those of the in-memory path taken in another order (per batch,
then across batches), equal to ~1e-15 relative.

A CSV batch this reader cannot vouch for makes it answer None: the caller then
reads the file with the careful reader, which names file, row and column of
every problem. A Parquet file has no other reader, so its problems are named
here; its rows are counted as in the CSV (the first response is row 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import AnalysisError
from .spec import IndexSpec
from .totals import CodedColumn, PsuTotals, totals_from_codes, totals_from_table

__all__ = ["PARQUET_SUFFIXES", "stream_totals"]

PARQUET_SUFFIXES = (".parquet", ".parq")
#: Bytes per batch of the streaming CSV reader (about 45,000 responses of 25 criteria); the
#: reader parses several ahead: 16 MB blocks peaked at 490 MB on 3M responses, 4 MB at 310 MB.
CSV_BLOCK = 1 << 22
#: Rows per Parquet batch.
PARQUET_ROWS = 262_144
#: Bytes per step of the whole-file byte checks.
SCAN = 1 << 24


class _Cells:
    """The running sums per cell, cells keyed by the global codes of their key columns."""

    def __init__(self, spec: IndexSpec, n_keys: int) -> None:
        self.spec = spec
        self.labels: list[dict] = [{} for _ in range(n_keys)]
        self.caps = [1] * n_keys
        self.codes = np.zeros((0, n_keys), dtype=np.int64)
        self.keys = np.zeros(0, dtype=np.int64)
        k, e = len(spec.criteria), len(spec.elements)
        self.sums = {"n": np.zeros(0, dtype=np.int64), "w": np.zeros(0),
                     "ws": np.zeros((0, k)), "wa": np.zeros((0, k)), "wr": np.zeros((0, k)),
                     "n_answered": np.zeros((0, k), dtype=np.int64),
                     "n_element": np.zeros((0, e), dtype=np.int64),
                     "n_any": np.zeros(0, dtype=np.int64)}

    def global_codes(self, c: int, column: CodedColumn) -> np.ndarray:
        """Global codes of a batch's text column (its labels looked up by value)."""
        index = self.labels[c]
        of_label = np.fromiter((index.setdefault(v, len(index)) for v in column.labels),
                               dtype=np.int64, count=len(column.labels))
        return of_label[column.codes]

    def _strides(self) -> list[int] | None:
        """Mixed-radix strides of the combined key; capacities grow by doubling."""
        for c, index in enumerate(self.labels):
            while self.caps[c] < len(index):
                self.caps[c] *= 2
        strides, total = [], 1
        for cap in reversed(self.caps):
            strides.append(total)
            total *= cap
        if total >= 1 << 62:
            raise AnalysisError("too many distinct groups, strata and PSUs for one key")
        return list(reversed(strides))

    def add(self, row_codes: list[np.ndarray], codes, weight: np.ndarray) -> None:
        """Reduce one batch (validated rating codes and global key codes) and add its cells."""
        strides = self._strides()
        key = np.zeros(len(weight), dtype=np.int64)
        for column, stride in zip(row_codes, strides, strict=True):
            key += column * stride
        uniq, inv = np.unique(key, return_inverse=True)
        # one stratum, each cell a PSU: totals_from_codes gives the cells in uniq's order
        batch = totals_from_codes(codes, self.spec, weight,
                                  psu=CodedColumn(inv.astype(np.int64), np.arange(len(uniq))))
        cell_codes = np.column_stack([(uniq // s) % cap for s, cap in zip(strides, self.caps,
                                                                            strict=True)])
        self._merge(uniq, cell_codes, batch, strides)

    def _merge(self, uniq, cell_codes, batch: PsuTotals, strides) -> None:
        # the capacities may have grown: the stored cells' keys again (their order stays)
        self.keys = self.codes @ np.array(strides, dtype=np.int64)
        new = {name: getattr(batch, name) for name in self.sums}
        pos = np.searchsorted(self.keys, uniq)
        if len(self.keys) and np.array_equal(self.keys[np.minimum(pos, len(self.keys) - 1)], uniq):
            # every cell seen before (a file not sorted by PSU): add in place
            for name, values in new.items():
                self.sums[name][pos] += values
            return
        keys = np.concatenate([self.keys, uniq])
        merged_keys, inv = np.unique(keys, return_inverse=True)
        codes = np.zeros((len(merged_keys), len(strides)), dtype=np.int64)
        codes[inv] = np.concatenate([self.codes, cell_codes])
        for name, values in new.items():
            old = self.sums[name]
            out = np.zeros((len(merged_keys), *old.shape[1:]), dtype=old.dtype)
            np.add.at(out, inv[:len(old)], old)
            np.add.at(out, inv[len(old):], values.astype(old.dtype, copy=False))
            self.sums[name] = out
        self.keys, self.codes = merged_keys, codes

    def table(self, names: list[str]) -> dict:
        """The aggregate table (analysis/totals.py's contract) with the labels put back."""
        table = {}
        for c, name in enumerate(names):
            # sorted labels and codes into them: totals_from_table then needs no pandas (1 s)
            values = np.empty(len(self.labels[c]), dtype=object)
            values[:] = list(self.labels[c])
            order = np.array(sorted(range(len(values)), key=values.__getitem__), dtype=np.int64)
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            table[name] = CodedColumn(codes=rank[self.codes[:, c]], labels=values[order])
        s, spec = self.sums, self.spec
        table.update({"n": s["n"], "w": s["w"], "OVERALL__n": s["n_any"]})
        for j, k in enumerate(spec.criteria):
            table.update({f"{k}__ws": s["ws"][:, j], f"{k}__wa": s["wa"][:, j],
                          f"{k}__wr": s["wr"][:, j], f"{k}__n": s["n_answered"][:, j]})
        for e, element in enumerate(spec.elements):
            table[f"{element.code}__n"] = s["n_element"][:, e]
        return table


def stream_totals(path: str | Path, spec: IndexSpec, *, header: list[str], by=(),
                  calibration=()) -> tuple[PsuTotals, tuple[str, ...]] | None:
    """(totals, missing criteria) of a file with a ``psu`` column, read in batches; None:
    read the CSV carefully instead.

    ``header`` is the file's column names (checked by the caller: required
    columns, unknown ``by`` columns, no column twice).
    """
    path = Path(path)
    present = [k for k in spec.criteria if k in header]
    missing = tuple(k for k in spec.criteria if k not in header)
    keys = list(dict.fromkeys([*by, *calibration]))
    if "psu" not in header or {"stratum", "psu", "weight", *present} & set(keys):
        return None
    names = [*keys, "stratum", "psu"]
    text = [c for c in names if c in header]
    survey = "survey" in header
    has_weight = "weight" in header
    cells = _Cells(spec, len(names))
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    batches = (_parquet_batches(path, spec, present, text, has_weight, survey) if parquet
               else _csv_batches(path, spec, present, text, has_weight, survey))
    empty_rating = None
    rows = 0
    for batch in batches:
        if batch is None:
            return None
        ratings, weight, kept = batch
        n = len(weight)
        rows += n
        if empty_rating is None or len(empty_rating) != n:
            empty_rating = np.zeros(n, dtype=np.int8)
        codes = [ratings.get(k, empty_rating) for k in spec.criteria]
        row_codes = [cells.global_codes(c, kept[name]) if name in kept else np.zeros(n, np.int64)
                     for c, name in enumerate(names)]
        for c, name in enumerate(names):
            if name not in kept:
                cells.labels[c].setdefault("1", 0)  # no stratum column: one stratum
        cells.add(row_codes, codes, weight)
    if rows == 0:
        from .io import DataError

        raise DataError([(str(path), None, None, "no responses")])
    return totals_from_table(cells.table(names), spec, by=list(by),
                             calibration=list(calibration)), missing


def _scan(path: Path) -> tuple[bool, bool]:
    """(UTF-8 throughout and no "0x", any double quote) in one pass of bounded memory."""
    import codecs

    from .csv_arrow import _hex_prefix

    decoder = codecs.getincrementaldecoder("utf-8")()
    quoted, last = False, b""
    with path.open("rb") as f:
        while block := f.read(SCAN):
            quoted = quoted or b'"' in block
            try:
                if np.frombuffer(block, dtype=np.uint8).max() >= 0x80 or decoder.buffer:
                    decoder.decode(block)
            except UnicodeDecodeError:
                return False, quoted
            if _hex_prefix(last + block):  # the last byte before: "0" and "x" across blocks
                return False, quoted
            last = block[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, quoted
    return True, quoted


def _csv_batches(path: Path, spec: IndexSpec, present, text, has_weight, survey):
    """(ratings, weight, kept) per batch, or one None when the careful reader must decide."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    from .csv_arrow import _kept, _rating_row, _survey_ok, _weight

    plain, quoted = _scan(path)
    if not plain:
        yield None
        return
    columns = [*present, *text, *(["survey"] if survey else []), *(["weight"] if has_weight else [])]
    types = {**{c: pa.int8() for c in present},
             **{c: pa.dictionary(pa.int32(), pa.string()) for c in [*text, "survey"]}}
    if has_weight:
        types["weight"] = pa.float64()
    pool = pa.system_memory_pool()
    try:
        reader = pacsv.open_csv(
            path, read_options=pacsv.ReadOptions(block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(include_columns=columns, column_types=types,
                                                 null_values=[""], strings_can_be_null=False),
            memory_pool=pool)
        for record_batch in reader:
            n = record_batch.num_rows
            if n == 0:
                continue
            col = {name: pa.chunked_array([record_batch.column(name)]) for name in columns}
            ratings = {}
            for k in present:
                ratings[k] = np.empty(n, dtype=np.int8)
                if not _rating_row(col[k], ratings[k], spec.points, None):
                    yield None
                    return
            weight = _weight(col["weight"]) if has_weight else np.ones(n)
            kept = {c: _kept(col[c], None) for c in text}
            if weight is None or any(v is None for v in kept.values()) or (
                    survey and not _survey_ok(col["survey"], spec.code)):
                yield None
                return
            del col, record_batch
            yield ratings, weight, kept
            # the parse buffers of the batch back to the OS: freed blocks kept by the threads'
            # malloc arenas grew the peak by a block per thread
            pool.release_unused()
    except (pa.ArrowException, ValueError, OSError):
        yield None


def _parquet_batches(path: Path, spec: IndexSpec, present, text, has_weight, survey):
    """(ratings, weight, kept) per batch of a Parquet file; problems raise DataError."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import parquet

    from .io import DataError

    name = str(path)
    columns = [*present, *text, *(["survey"] if survey else []), *(["weight"] if has_weight else [])]
    try:
        source = parquet.ParquetFile(path)
        batches = source.iter_batches(batch_size=PARQUET_ROWS, columns=columns)
        start = 0
        for record_batch in batches:
            n = record_batch.num_rows
            ratings = {k: _parquet_rating(record_batch.column(k), spec.points, name, start, k)
                       for k in present}
            weight = np.ones(n)
            if has_weight:
                w = pc.cast(record_batch.column("weight"), pa.float64()).fill_null(1.0)
                weight = w.to_numpy(zero_copy_only=False)
                bad = ~(np.isfinite(weight) & (weight > 0))
                if bad.any():
                    raise DataError([(name, start + int(i) + 2, "weight", "weight must be > 0")
                                     for i in np.flatnonzero(bad)[:10]])
            kept = {c: _parquet_text(record_batch.column(c), name, start, c) for c in text}
            if survey:
                codes = _parquet_text(record_batch.column("survey"), name, start, "survey")
                wrong = codes.labels != spec.code
                if wrong.any():
                    rows = np.flatnonzero(wrong[codes.codes])[:10]
                    raise DataError([(name, start + int(i) + 2, "survey",
                                      f"survey must be {spec.code!r}") for i in rows])
            start += n
            yield ratings, weight, kept
    except (pa.ArrowException, OSError) as exc:
        raise DataError([(name, None, None, f"cannot read: {exc}")]) from exc


def _parquet_rating(column, points: int, name: str, start: int, code: str) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    from .io import DataError

    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.if_else(pc.equal(pc.utf8_trim_whitespace(column), ""), None, column)
    try:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid as exc:
        raise DataError([(name, None, code, f"not numbers: {exc}")]) from exc
    empty = np.isnan(values)
    filled = np.where(empty, 0.0, values)
    bad = ~empty & ((filled != np.rint(filled)) | (filled < 1) | (filled > points))
    if bad.any():
        raise DataError([(name, start + int(i) + 2, code, f"rating must be an integer 1..{points}")
                         for i in np.flatnonzero(bad)[:10]])
    return filled.astype(np.int8)


def _parquet_text(column, name: str, start: int, code: str) -> CodedColumn:
    import pyarrow as pa
    import pyarrow.compute as pc

    from .io import DataError

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    column = pc.cast(column, pa.string())
    empty = pc.or_kleene(pc.is_null(column), pc.equal(column, "")).fill_null(True)
    if pc.any(empty).as_py():
        rows = np.flatnonzero(empty.to_numpy(zero_copy_only=False))[:10]
        raise DataError([(name, start + int(i) + 2, code, f"{code} is empty") for i in rows])
    encoded = column.dictionary_encode()
    labels = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return CodedColumn(codes=codes, labels=np.array(labels, dtype=object))


#: A CSV at least this large with a ``psu`` column is read in batches; a smaller one whole
#: (the in-memory reader is as fast and its peak memory small anyway: 0.3 GB at 1M responses).
STREAM_MIN_BYTES = 1 << 28
#: The same for a CSV without ``psu`` (:mod:`analysis.singletons`): read whole, every response
#: is a cell of ~1.6 kB (1.6 GB at 1M responses); streamed, 0.4 GB whatever the size.
STREAM_MIN_BYTES_NO_PSU = 1 << 25


def responses_totals(path: str | Path, spec: IndexSpec, *, by=(), calibration=()):
    """(totals, missing criteria) of a responses CSV or Parquet file, streamed when it pays.

    The reader ``python -m analysis`` uses: a Parquet file is always read in
    batches, a CSV with a ``psu`` column of at least :data:`STREAM_MIN_BYTES`
    too; any other CSV, or one the batches cannot vouch for, goes through
    :func:`analysis.io.read_responses`.
    """
    from .io import DataError, _check_header, _header, read_responses, responses_to_totals

    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        header = _parquet_header(path)
        _check_header(path, header, spec, by, calibration)
        if "psu" not in header:
            raise DataError([(str(path), 1, "psu", "compare and rank of a Parquet file need a "
                              "psu column (the response_id when every response is "
                              "its own PSU); stratum, weight and ratings cannot be --by "
                              "or calibration columns")])
        streamed = stream_totals(path, spec, header=header, by=by, calibration=calibration)
        if streamed is None:
            raise DataError([(str(path), 1, None, "a psu, stratum or weight column cannot be a "
                              "--by or calibration column")])
        return streamed
    if path.exists() and path.stat().st_size >= STREAM_MIN_BYTES:
        header = _header(path)
        if "psu" in header:
            _check_header(path, header, spec, by, calibration)
            streamed = stream_totals(path, spec, header=header, by=by, calibration=calibration)
            if streamed is not None:
                return streamed
    columns = read_responses(path, spec, by=by, calibration=calibration)
    return responses_to_totals(columns, spec), columns.missing_criteria


def _parquet_header(path: Path) -> list[str]:
    import pyarrow as pa
    from pyarrow import parquet

    from .io import DataError

    try:
        return list(parquet.read_schema(path).names)
    except (OSError, pa.ArrowException) as exc:
        raise DataError([(str(path), None, None, f"cannot read: {exc}")]) from exc
