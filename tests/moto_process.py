"""moto's server in a process of its own, for the tests.

In the test process moto would share one interpreter lock with the engine, the sandbox
and the test threads; in its own process it uses the second core. It prints its port on
one line once it serves and stops when its standard input closes (the tests ended, or
died).
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)
    sys.stdin.read()  # returns at end of input: the parent is gone
    # Nothing to keep: an orderly stop waits on open connections and tears down every
    # table of the run (seconds); leaving at once is instant.
    os._exit(0)


if __name__ == "__main__":
    main()
