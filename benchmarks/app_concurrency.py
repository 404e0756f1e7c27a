"""Several people generating at once: N headless-Chromium sessions click Generate on the Text
tab together (4 emoji each, 20 steps); each session's wait and the app's peak memory.

    python benchmarks/app_concurrency.py --sessions 4                 # this checkout's app
    git worktree add /tmp/before <commit> && python benchmarks/app_concurrency.py --repo /tmp/before

Prints and writes JSON (--out): every session's seconds from its click to its images, the
wall time until the last, and the app process's resident memory before and at its peak.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_screenshot import CHROMIUM_FLAGS, IMAGES, DevTools, open_with_prompt, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# Every session but one is a background tab: keep Chromium from throttling their timers.
BACKGROUND_FLAGS = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                    "--disable-backgrounding-occluded-windows"]


def rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def new_page(debug_port: int) -> DevTools:
    request = urllib.request.Request(f"http://127.0.0.1:{debug_port}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        return DevTools(json.loads(response.read())["webSocketDebuggerUrl"])


def run(repo: Path, sessions: int, port: int, debug_port: int = 9334) -> dict:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("no chromium on PATH: apt-get install chromium")
    env = {**os.environ, "PYTHONPATH": str(repo)}
    app = subprocess.Popen([sys.executable, "-m", "emoji_t2i.app", "--port", str(port)], cwd=repo, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, stop = [0.0], threading.Event()
    with tempfile.TemporaryDirectory() as profile:
        chrome = subprocess.Popen([browser, *CHROMIUM_FLAGS, *BACKGROUND_FLAGS, f"--user-data-dir={profile}",
                                   f"--remote-debugging-port={debug_port}", "--window-size=1280,1150", "about:blank"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"http://127.0.0.1:{port}/_stcore/health", 120)
            wait_for(f"http://127.0.0.1:{debug_port}/json", 60)
            pages = [new_page(debug_port) for _ in range(sessions)]
            for k, page in enumerate(pages):  # one at a time: every session's page is loaded and idle first
                print(f"loading session {k}", flush=True)
                open_with_prompt(page, port, "crying cat")
            loaded = rss_mb(app.pid)

            def watch():
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_mb(app.pid))
                    time.sleep(0.2)

            threading.Thread(target=watch, daemon=True).start()
            waits, start = [None] * sessions, threading.Barrier(sessions)

            def session(k):
                page = pages[k]
                start.wait()
                t0 = time.perf_counter()
                page.js("[...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Generate').click()")
                page.wait(IMAGES.format(n=4), seconds=900)
                waits[k] = time.perf_counter() - t0

            threads = [threading.Thread(target=session, args=(k,)) for k in range(sessions)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
        finally:
            stop.set()
            chrome.terminate()
            app.terminate()
            chrome.wait(timeout=30)
            app.wait(timeout=30)
    waits = sorted(waits)
    return {"repo": str(repo), "sessions": sessions, "images_per_session": 4, "seconds_each": waits,
            "median_wait_s": statistics.median(waits), "first_s": waits[0], "wall_s": wall,
            "rss_loaded_mb": loaded, "rss_peak_mb": peak[0], "cpu_count": os.cpu_count()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose app is measured")
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--out", type=Path, help="write the result as JSON here")
    args = p.parse_args(argv)
    try:
        result = run(args.repo.resolve(), args.sessions, args.port)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
