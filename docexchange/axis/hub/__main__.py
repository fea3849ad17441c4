"""``python -m docexchange.axis.hub [--host H] [--port P]``: the hub alone (= ``docexchange axis serve``)."""

from __future__ import annotations

import argparse

from docexchange.axis.hub.server import serve
from docexchange.axis.hub.settings import HubSettings

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m docexchange.axis.hub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    serve(HubSettings.from_env(), args.host, args.port, args.threads)
