#!/usr/bin/env python3
# Copyright (C) The ngx_http_staged_update_module authors
"""A sample business server (a game shard) for the staged-update demo.

    shard.py --port 9001 --id shard-1 [--users alice:secret,bob:hunter2]

POST /login with {"user": "...", "password": "..."} (JSON, or a form)
    200 {"ok": true, "server": "shard-1", "session": "..."}
    401 {"ok": false, "error": "bad credentials"}

The login-success reply carries the shard's ID: a launcher that is logged
in sends it with its version check (server=shard-1), so that the version
server never moves it past the version this shard runs. Every login is
logged to stdout as one line: "login user=alice server=shard-1".
"""

import argparse
import json
import secrets
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Shard(BaseHTTPRequestHandler):
    server_version = "demo-shard/1"

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path != "/login":
            return self.reply(404, {"ok": False, "error": "not found"})

        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")

        if self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                form = json.loads(raw)
            except ValueError:
                form = {}
        else:
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
        if not isinstance(form, dict):
            form = {}

        user = str(form.get("user", ""))
        password = str(form.get("password", ""))

        if self.server.users.get(user) != password:
            print(f"login refused user={user!r}", flush=True)
            return self.reply(401, {"ok": False, "error": "bad credentials"})

        print(f"login user={user} server={self.server.shard_id}", flush=True)
        self.reply(200, {"ok": True, "server": self.server.shard_id,
                         "session": secrets.token_hex(16)})

    def do_GET(self):
        if self.path == "/":
            return self.reply(200, {"server": self.server.shard_id})
        self.reply(404, {"ok": False, "error": "not found"})

    def log_message(self, fmt, *args):
        pass                                # logins only


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--id", default="shard-1")
    ap.add_argument("--users", default="alice:secret",
                    help="user:password,... (default alice:secret)")
    a = ap.parse_args()

    httpd = ThreadingHTTPServer((a.host, a.port), Shard)
    httpd.shard_id = a.id
    httpd.users = dict(u.split(":", 1) for u in a.users.split(",") if u)

    print(f"shard {a.id} listens on http://{a.host}:{a.port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
