"""``python -m shipyard.server --host --port --backend-uri --artifacts-uri [--auth]``."""

from __future__ import annotations

import argparse

from shipyard.server.runner import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shipyard.server", description="Run the Shipyard server.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument(
        "--backend-uri", default=None, help="metadata database: sqlite:///... or postgresql://..."
    )
    parser.add_argument(
        "--artifacts-uri", default=None, help="artifact store: a folder or s3://bucket/prefix"
    )
    parser.add_argument(
        "--auth", action="store_true", default=None, help="require a bearer token (always on beyond loopback)"
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.backend_uri, args.artifacts_uri, require_auth=args.auth)


if __name__ == "__main__":
    main()
