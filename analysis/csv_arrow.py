"""Fast reader for a valid responses file: pyarrow's multi-threaded CSV parser.

pandas' C engine parses on one core and goes through float64 and NaN for
every rating. Most files are valid, so the command line reads them here
first: pyarrow parses on every core, straight into int8 ratings and
dictionary-coded text, and whole-array tests check the result.

This reader only ever says "valid, here are the columns" or "not sure"
(None). On None the caller re-reads the file with the careful reader
(:mod:`analysis.csv_pandas`), which names file, row and column of each bad
cell. So it declines anything pandas might read differently, not only bad
values: a cell pyarrow cannot convert, an empty text cell, a rating written
in hexadecimal, bytes that are not UTF-8 even in a column the indices do not
use (pandas refuses those files). What it accepts, it reads to the same codes,
weights and labels as the careful reader, so the output does not depend on
the path taken.
"""

from __future__ import annotations

import codecs
import mmap
from functools import partial
from pathlib import Path

import numpy as np

from .parallel import run, threads_for
from .spec import IndexSpec
from .totals import CodedColumn

__all__ = ["read_valid"]

#: Bytes handed to the UTF-8 check at a time (bounded memory on non-ASCII files).
CHUNK = 1 << 24
#: Bytes per block of pyarrow's parser.
BLOCK = 1 << 22


def read_valid(path: Path, spec: IndexSpec, present: list[str], columns: list[str],
               has_weight: bool, keep: list[str]):
    """(codes, weight, kept columns, rows) as the careful reader gives them, or None.

    Same arguments as :func:`analysis.csv_pandas.read_checked`; kept columns
    come back as :class:`~analysis.totals.CodedColumn`. None means "read it
    carefully": the file may still be valid.
    """
    if any(c in present or c == "weight" for c in keep):
        return None  # a numeric column as a group: rare, and pandas' reading of it is the rule
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:
        return None
    try:
        with path.open("rb") as f:
            # mapped, not read: copying 100 MB into a bytes object cost 0.07 s of CPU.
            # (A file truncated by another process while mapped would end the run with
            # SIGBUS; files being rewritten during an analysis are not supported anyway.)
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    text = [c for c in columns if c not in present and c != "weight"]
    types = {**{c: pa.int8() for c in present}, **{c: pa.dictionary(pa.int32(), pa.string())
                                                    for c in text}}
    if has_weight:
        types["weight"] = pa.float64()
    options = {
        # 4 MB blocks instead of 1 MB: a quarter of the chunks to convert afterwards
        # (0.03 s on 113 MB), still dozens of blocks for the threads to share
        "read_options": pacsv.ReadOptions(block_size=BLOCK),
        # quoted free-text answers may hold line breaks; without a quote in the file there
        # are none, and the parser splits blocks faster (0.15 s of CPU on 1M responses)
        "parse_options": pacsv.ParseOptions(newlines_in_values=data.find(b'"') >= 0),
        # only an empty cell is missing (pandas: keep_default_na=False, na_values=[""]);
        # an empty text cell stays "" so that the checks below see it
        "convert_options": pacsv.ConvertOptions(include_columns=columns, column_types=types,
                                                null_values=[""], strings_can_be_null=False),
        # the C library's malloc, not pyarrow's default mimalloc: mimalloc gave each thread
        # fresh 2 MB pages (380 MB for 113 MB of CSV), and zeroing them took 0.2-0.5 s of
        # system time, half the parse; malloc reuses the blocks' freed buffers
        "memory_pool": pa.system_memory_pool(),
    }
    # the byte checks (0.03 s on 113 MB) run beside the parser, which holds no GIL;
    # a file of a few hundred kilobytes is already worth the thread
    jobs = [partial(_parse, pa, pacsv, data, options), partial(_plain, data)]
    threads = threads_for(len(data))
    del data
    try:
        table, ok = run(jobs, threads)
    except (pa.ArrowException, ValueError):
        return None
    del jobs
    parsed = _columns(table, spec, present, has_weight, keep) if ok else None  # numpy copies
    del table
    # hand the freed table and parse buffers (200 MB for 1M responses) back to the OS:
    # numpy allocates elsewhere, and the peak memory would grow by them
    options["memory_pool"].release_unused()
    return parsed


def _parse(pa, pacsv, data, options, _):
    table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), **options)
    return table.unify_dictionaries(memory_pool=options["memory_pool"])


def _plain(data, _) -> bool:
    """UTF-8 throughout and no hexadecimal prefix anywhere."""
    return _utf8(data) and not _hex_prefix(data)


def _columns(table, spec: IndexSpec, present: list[str], has_weight: bool, keep: list[str]):
    """The columns as numpy arrays, or None if any fails its check.

    Each column is one job: two threads share them (the copies release the GIL).
    """
    n = table.num_rows
    if n == 0:
        return None
    ratings = np.empty((len(present), n), dtype=np.int8)
    jobs = [partial(_rating_row, table.column(c), ratings[j], spec.points)
            for j, c in enumerate(present)]
    if has_weight:
        jobs.append(lambda _: _weight(table.column("weight")))
    if "survey" in table.column_names:
        jobs.append(lambda _: _survey_ok(table.column("survey"), spec.code))
    jobs += [partial(_kept, table.column(c)) for c in keep]
    done = run(jobs, threads_for(n))
    if not all(done[:len(present)]):
        return None
    done = done[len(present):]
    weight = done.pop(0) if has_weight else None
    if has_weight and weight is None:
        return None
    if "survey" in table.column_names and not done.pop(0):
        return None
    if any(d is None for d in done):
        return None
    return ({c: ratings[j] for j, c in enumerate(present)}, weight, dict(zip(keep, done, strict=True)),
            n)


def _rating_row(column, out: np.ndarray, points: int, _) -> bool:
    """Fill ``out`` with a rating column (0 where empty); False if any value is out of range."""
    nulls = _ratings(column, out)
    # empty cells are 0; a 0 anywhere else is a written "0" (or "-0"), which is bad
    return not out.size or (out.min() >= 0 and out.max() <= points
                            and np.count_nonzero(out) == out.size - nulls)


def _survey_ok(column, code: str) -> bool:
    _, labels = _dictionary(column)
    return labels is not None and all(label == code for label in labels)


def _kept(column, _) -> CodedColumn | None:
    codes, labels = _dictionary(column)
    if labels is None or "" in labels:
        return None  # an empty cell: the careful reader decides what it means
    return _sorted(codes, labels)


def _weight(column) -> np.ndarray | None:
    """The weights (an empty cell is 1: a self-selected answer's weight) if all are finite and > 0,
    else None."""
    if column.null_count:
        column = column.fill_null(1.0)
    weight = _float64(column)
    return weight if np.all(weight > 0) and np.all(np.isfinite(weight)) else None


def _ratings(column, out: np.ndarray) -> int:
    """Fill ``out`` with an int8 column, 0 where empty; returns the number of empty cells.

    Reads the Arrow buffers directly: ``to_numpy`` would go through float64
    and NaN, which costs as much as the parse itself.
    """
    start = 0
    for chunk in column.chunks:
        k = len(chunk)
        validity, values = chunk.buffers()
        v = np.frombuffer(values, dtype=np.int8, count=k, offset=chunk.offset)
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8),
                                 count=chunk.offset + k, bitorder="little")[chunk.offset:]
            np.multiply(v, bits.view(bool), out=out[start:start + k])
        else:
            out[start:start + k] = v
        start += k
    return column.null_count


def _float64(column) -> np.ndarray:
    """A float64 column without nulls as one new array.

    Not ``ChunkedArray.to_numpy``: that imports pandas (half a second).
    """
    parts = [np.frombuffer(c.buffers()[1], dtype=np.float64, count=len(c), offset=8 * c.offset)
             for c in column.chunks]
    return np.concatenate(parts) if parts else np.empty(0)


def _dictionary(column) -> tuple[np.ndarray, list | None]:
    """Indices and values of a dictionary column whose chunks share one dictionary."""
    if column.null_count or column.num_chunks == 0:
        return np.empty(0, dtype=np.int32), None
    labels = column.chunks[0].dictionary.to_pylist()
    parts = [np.frombuffer(c.indices.buffers()[1], dtype=np.int32, count=len(c),
                           offset=4 * c.offset) for c in column.chunks]
    return np.concatenate(parts), labels


def _sorted(codes: np.ndarray, labels: list) -> CodedColumn:
    """Codes into sorted labels, the order the careful path's factorisation gives."""
    values = np.array(labels, dtype=object)
    # Python's sort of the label list: the comparisons of np.argsort on objects cost twice
    order = np.array(sorted(range(len(labels)), key=labels.__getitem__), dtype=np.intp)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return CodedColumn(codes=rank[codes], labels=values[order])


def _utf8(data: mmap.mmap) -> bool:
    """True if ``data`` is UTF-8 throughout (pandas decodes every column, pyarrow only text)."""
    if np.frombuffer(data, dtype=np.uint8).max(initial=0) < 0x80:  # ASCII: 10 ms per 100 MB
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for start in range(0, len(data), CHUNK):
            decoder.decode(data[start:start + CHUNK], final=start + CHUNK >= len(data))
    except UnicodeDecodeError:
        return False
    return True


def _hex_prefix(data) -> bool:
    """True if "0x" or "0X" occurs anywhere: pyarrow reads int8 "0x4" as 4, pandas refuses it.

    Most files have no x at all, which a byte search settles in milliseconds;
    otherwise one vectorised pass over the bytes.
    """
    if data.find(b"x") < 0 and data.find(b"X") < 0:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, len(raw), CHUNK):
        block = raw[start:start + CHUNK + 1]
        x = np.bitwise_or(block[1:], 0x20) == ord("x")  # x or X
        if x.any() and np.any(block[:-1][x] == ord("0")):
            return True
    return False
