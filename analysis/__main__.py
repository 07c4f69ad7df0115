"""Entry point of ``python -m analysis``."""

import os
import sys

if __name__ == "__main__":
    # Before numpy loads: OpenBLAS would start a thread per CPU at import (0.03-0.05 s of
    # start-up, and threads that spin beside pyarrow's parser), for matrix products of a
    # few columns that it runs on one thread anyway. A value the caller set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

if __name__ == "__main__":
    status = main()
    # Everything is written; flush and leave without the interpreter's teardown, which
    # unloads numpy and pyarrow and frees every array one by one (0.05-0.1 s, up to a
    # tenth of a run on a million responses). Nothing registers exit handlers here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
