#!/usr/bin/env python3
"""Serves the repository root on 127.0.0.1 like `python3 -m http.server`, with the two
headers that make the app cross-origin isolated (COOP same-origin, COEP require-corp):
only then does the browser give the page SharedArrayBuffer, and the app runs the
threaded wasm build (www/pkg-threads; src/parallel.rs). Every file is the app's own, so
require-corp blocks nothing. Usage: scripts/serve.py [PORT] (default 8080).
"""
import functools
import http.server
import os
import sys


class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      '.wasm': 'application/wasm', '.js': 'text/javascript', '.mjs': 'text/javascript'}

    def end_headers(self):
        self.send_header('Cross-Origin-Opener-Policy', 'same-origin')
        self.send_header('Cross-Origin-Embedder-Policy', 'require-corp')
        super().end_headers()

    def log_message(self, format, *args):
        if os.environ.get('OSTEON_SERVE_LOG'):
            super().log_message(format, *args)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    handler = functools.partial(IsolatedHandler, directory=root)
    with http.server.ThreadingHTTPServer(('127.0.0.1', port), handler) as server:
        server.serve_forever()


if __name__ == '__main__':
    main()
