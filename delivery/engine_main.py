"""The engine process's entry point: ``python -m delivery.engine_main FD``.

Started by delivery/pump.py (``_Child``) with one end of a socket pair as file descriptor
FD; the first message on it is what :func:`delivery.pump.serve` needs besides the pipe.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection


def main(argv: list[str]) -> int:
    pipe = Connection(int(argv[1]))
    from delivery.pump import serve

    try:
        settings, bot_username, log_level, parent_pid = pipe.recv()
    except (EOFError, OSError):  # the bot ended before it said what to serve
        return 1
    serve(pipe, settings, bot_username, log_level, parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
