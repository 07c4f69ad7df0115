"""JSON text of an :class:`~analysis.estimate.IndexTable`, assembled by Arrow's kernels.

``IndexTable.results_json`` spends most of its time in Python: ``repr`` of
seven floats per record and an f-string per record (0.25 s for 31,000
records). Here Arrow formats the numbers and joins the pieces of every
record in C++, to the same bytes:

- Arrow's cast of a double to a string gives the shortest digits that read
  back to the same double, as ``repr`` does; only the layout can differ.
  ``repr`` writes fixed notation for 1e-4 ≤ |x| < 1e16 and always a
  fraction (``100.0``); Arrow leaves the fraction out (``100``) and switches
  to an exponent at its own thresholds. So whole numbers, numbers outside
  that range or not finite, and any that Arrow wrote with an exponent are
  formatted by ``repr`` (or ``null``) instead.
- Texts (group keys, codes, flags) are encoded by :mod:`json` once per
  distinct value.

pyarrow's compute kernels are called through ``pyarrow._compute``: the
public ``pyarrow.compute`` builds a Python wrapper for every kernel on
import (0.04 s). Without pyarrow, or if a kernel fails, :func:`results_json`
returns None and the caller uses the Python encoder; the tests compare the
two byte for byte.
"""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np

from .parallel import run, threads_for

__all__ = ["results_json", "results_json_chunks"]

#: The fields of a record in output order (FORMATS.md §4 and the extension keys).
FIELDS = ("by", "level", "code", "measure", "estimate", "se", "ci_low", "ci_high", "n", "df",
          "n_eff", "deff", "cv", "flags", "suppressed")
TEXTS = ("level", "code", "measure")
NUMBERS = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "cv")
INTEGERS = ("n", "df")
#: Records from which the columns are worth a second thread.
JSON_ROWS = 10_000


def results_json(table) -> str | None:
    """``table.records()`` as a JSON array, byte for byte ``IndexTable.results_json``; or None."""
    chunks = results_json_chunks(table)
    return None if chunks is None else b"".join(chunks).decode("utf-8")


def results_json_chunks(table) -> list | None:
    """:func:`results_json` as UTF-8 pieces (bytes or memoryview) to write in order; or None.

    The middle piece is Arrow's buffer itself: writing it costs no copy.
    """
    try:
        import pyarrow as pa
        from pyarrow import _compute as pc
    except ImportError:
        return None
    try:
        return _encode(table, pa, pc)
    except (pa.ArrowException, AttributeError, TypeError, ValueError):
        return None


def _encode(table, pa, pc) -> list:
    call = pc.call_function
    n = len(table.group)
    if n == 0:
        return [b"[]"]
    # one encoder for all keys: json.dumps with an option builds a new one per call
    keys = _strings(list(map(json.JSONEncoder(ensure_ascii=False).encode, table.keys)), pa)
    suppressed = _numbers(np.asarray(table.suppressed, dtype=np.int8), pa.int8(), pa)
    # one job per column; Arrow's kernels release the GIL, so two threads share them
    columns = {
        "by": _job(call, "array_take", [keys, _numbers(table.group, pa.int64(), pa)]),
        **{name: _job(_texts, getattr(table, name), pa, pc) for name in TEXTS},
        **{name: _job(_floats, getattr(table, name), pa, pc) for name in NUMBERS},
        **{name: _job(_ints, getattr(table, name), pa, pc) for name in INTEGERS},
        "flags": _job(_texts, table.flags, pa, pc, lambda f: json.dumps(list(f))),
        "suppressed": _job(call, "array_take", [_strings(["false", "true"], pa), suppressed]),
    }
    done = dict(zip(columns, run(list(columns.values()), threads_for(n, JSON_ROWS)), strict=True))
    parts = []
    for name in FIELDS:
        parts += [f', "{name}": ' if parts else f'{{"{name}": ', done[name]]
    parts.append("}, ")
    literals = [p for p in parts if isinstance(p, str)]
    scalars = dict(zip(literals, _strings(literals, pa), strict=True))
    args = [scalars[p] if isinstance(p, str) else p for p in parts]
    # the records in two halves, one per thread (slices share the columns' memory)
    threads = threads_for(n, JSON_ROWS)
    bounds = [n * i // threads for i in range(threads + 1)]
    halves = [_job(_join, call, [a if isinstance(a, pa.Scalar) else a.slice(lo, hi - lo)
                                 for a in args], pa) for lo, hi in pairwise(bounds)]
    bodies = run(halves, threads)
    # every record ends in ", ": the last one's is dropped
    bodies[-1] = bodies[-1][:-2]
    return [b"[", *bodies, b"]"]


def _join(call, args, pa) -> memoryview:
    """The records' text: the pieces of each joined, and the records one after another."""
    joined = call("binary_join_element_wise", [*args, _scalar("", pa)])
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1,
                            offset=4 * joined.offset)
    return memoryview(joined.buffers()[2])[offsets[0]:offsets[-1]]


def _job(function, *args):
    """A job for :func:`analysis.parallel.run`: ``function(*args)``."""
    return lambda _: function(*args)


# Neither pa.array() nor pa.scalar(): on any input they first ask whether pandas is
# installed, which imports pandas (0.3 s). Arrays are built from their buffers instead.

def _scalar(text: str, pa):
    """A string scalar (``pa.scalar`` imports pandas too)."""
    return _strings([text], pa)[0]


def _strings(texts: list[str], pa):
    """A string array of ``texts``."""
    raw = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(raw) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, raw), dtype=np.int32, count=len(raw)), out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(raw),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raw))])


def _numbers(values: np.ndarray, kind, pa):
    """A numeric array sharing the memory of a contiguous numpy array of the same type."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _bool_array(mask: np.ndarray, pa):
    bits = np.packbits(mask, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(bits)])


def _texts(values, pa, pc, encode=None):
    """JSON texts of ``values``, encoded once per distinct value."""
    encode = encode or (lambda v: json.dumps(v, ensure_ascii=False))
    index = {v: i for i, v in enumerate(dict.fromkeys(values))}
    where = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return pc.call_function("array_take", [_strings([encode(v) for v in index], pa),
                                           _numbers(where, pa.int32(), pa)])


def _ints(values, pa, pc):
    return pc.call_function("cast", [_numbers(np.asarray(values, dtype=np.int64), pa.int64(), pa)],
                            pc.CastOptions(pa.string()))


def _floats(values, pa, pc):
    """JSON texts of floats as ``repr`` writes them, null where not finite."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    call = pc.call_function
    text = call("cast", [_numbers(x, pa.float64(), pa)], pc.CastOptions(pa.string()))
    # an exponent is rare here: one byte search of the whole column settles it (0.05 ms,
    # against 1.4 ms for the per-value match that finds where)
    exponent = False
    if np.any(np.frombuffer(text.buffers()[2], dtype=np.uint8) == ord("e")):
        exponent = _bools(call("match_substring", [text], pc.MatchSubstringOptions("e")))
    with np.errstate(invalid="ignore"):
        size = np.abs(x)
        # whole numbers too: Arrow writes 100.0 as "100" (they are few)
        other = (~(size < 1e16) | ((size < 1e-4) & (x != 0)) | (x == np.trunc(x))
                 | exponent)
    where = np.flatnonzero(other)
    if len(where) == 0:
        return text
    fixed = [repr(v) if np.isfinite(v) else "null" for v in x[where].tolist()]
    return call("replace_with_mask", [text, _bool_array(other, pa), _strings(fixed, pa)])


def _bools(array) -> np.ndarray:
    """A boolean Arrow array without nulls as a numpy bool array."""
    bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, count=array.offset + len(array),
                         bitorder="little")[array.offset:].view(bool)
