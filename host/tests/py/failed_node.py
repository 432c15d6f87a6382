"""A node whose installation failed, as owbench's installers make it answer (their
install-failed.sh): every request gets 503 and `install failed: REASON`, over TLS with
the cluster's certificate. For owbench's tests, on loopback.

    python failed_node.py PORT CERT_PEM KEY_PEM REASON
"""

import http.server
import ssl
import sys

port, cert, key, reason = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"install failed: {reason}\n".encode()
        self.send_response(503)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
