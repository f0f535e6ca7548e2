#!/usr/bin/env python3
"""Serve a directory over HTTP on 127.0.0.1, on a free port written to a file.

    serve_dir.py DIR PORT_FILE

Stands in for an upstream download site (the build machines reach no GitHub): the airgap
scenario's bundle takes one binary and its checksum file from here.
"""

import functools
import http.server
import sys
from pathlib import Path


def main():
    directory, port_file = sys.argv[1], Path(sys.argv[2])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]))
    tmp.replace(port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
