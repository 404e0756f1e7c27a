"""``python -m emoji_t2i.app [--run DIR ...] [--port 8501]``: start the web app (Streamlit).

Runs given with --run join the shipped presets in the model pickers (a text-to-emoji run in
the Text tab, a stylegan run in the others).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m emoji_t2i.app", description=__doc__)
    p.add_argument("--run", action="append", default=[], type=Path, help="a run directory to offer (repeatable)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port}: use a port from 1 to 65535 (default 8501)", file=sys.stderr)
        return 2
    try:  # Streamlit's own error for an address it cannot bind is a socket traceback
        socket.getaddrinfo(args.address, args.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        print(f"error: --address {args.address}: not a host name or IP address ({getattr(e, 'strerror', e)}); "
              "use 127.0.0.1 (this machine) or 0.0.0.0 (every interface)", file=sys.stderr)
        return 2
    try:
        import streamlit  # noqa: F401
    except ImportError:
        print("error: the app needs streamlit: pip install -e '.[app]' (or make setup)", file=sys.stderr)
        return 2
    for run in args.run:
        if not (run / "config.json").is_file():
            print(f"error: --run {run}: not a run directory (no config.json)", file=sys.stderr)
            return 2
    script = Path(__file__).with_name("streamlit_app.py")
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(args.port),
               "--server.address", args.address, "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--"]
    for run in args.run:
        command += ["--run", str(run)]
    # exec, not a child process: stopping this process stops the server (no orphan on the port)
    os.execv(sys.executable, command)


if __name__ == "__main__":
    sys.exit(main())
