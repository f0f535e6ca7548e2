#!/usr/bin/python3
"""Stands in for kube-apiserver in the loadbalancer scenarios (kubeadm cannot be obtained here).

    fake_apiserver.py ADDRESS PORT NODE_NAME CERT KEY

HTTPS on ADDRESS:PORT with the node's API server certificate from the pki phase:
  GET /readyz  200 "ok", or 500 while /run/fake-apiserver/unready exists (as a real API server
               answers while one of its readiness checks fails)
  GET /whoami  200 and the node name, so a client sees which API server answered
"""

import http.server
import os
import ssl
import sys

UNREADY_FLAG = "/run/fake-apiserver/unready"


def main():
    address, port, node_name, cert, key = sys.argv[1:6]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/readyz":
                if os.path.exists(UNREADY_FLAG):
                    status, body = 500, b"[-]fake-not-ready failed\nreadyz check failed\n"
                else:
                    status, body = 200, b"ok"
            elif self.path == "/whoami":
                status, body = 200, node_name.encode()
            else:
                status, body = 404, b"not found\n"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        # The TLS handshake happens in the connection's own thread, so a client that never
        # completes one cannot block the others.
        def finish_request(self, request, client_address):
            request.settimeout(10)
            try:
                tls = context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
            self.RequestHandlerClass(tls, client_address, self)

    Server((address, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
