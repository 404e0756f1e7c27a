"""Start the web app on 127.0.0.1, drive it in headless Chromium (Debian's ``chromium``) over
the DevTools protocol, and save screenshots: what docs/app.md shows.

    python benchmarks/app_screenshot.py --out-dir docs/app

Text tab: types "crying cat", clicks Generate, waits for the images (text.png); Mash-up tab:
clicks "Mash up" on its default prompts (mashup.png); Explore tab, between two prompts
(explore.png); Your image tab: uploads a photo (matplotlib's sample portrait of Grace Hopper,
public domain) and clicks Emojify (emojify.png). Exits 3 (and says so) when no Chromium is
installed: apt-get install chromium.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def wait_for(url: str, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer within {seconds:.0f} s")


class DevTools:
    """The few DevTools calls a screenshot needs, over one page's websocket."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws, self.ids = connect(ws_url, max_size=2**26, legacy=True), itertools.count(1)

    def call(self, method: str, **params):
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait(self, expression: str, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while not self.js(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never satisfied: {expression}")
            time.sleep(1)

    def screenshot(self, path: Path) -> None:
        time.sleep(1.5)  # let the last images paint
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"wrote {path}")


IDLE = "!document.querySelector('[data-testid=\"stStatusWidget\"]')"
# Streamlit renders every tab; only the selected one's panel is laid out (offsetParent set).
IMAGES = ("[...document.querySelectorAll('[data-testid=\"stTabPanel\"]')].filter(p => p.offsetParent !== null)"
          ".reduce((n, p) => n + p.querySelectorAll('[data-testid=\"stImage\"] img').length, 0) >= {n}")


def click_tab(page: DevTools, label: str) -> None:
    page.js(f"[...document.querySelectorAll('[role=tab]')].find(b => b.innerText.includes('{label}')).click()")


def sample_photo() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def upload(page: DevTools, path: Path) -> None:
    """Give the visible file uploader a file, as a person choosing it would."""
    root = page.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
    node = page.call("DOM.querySelector", nodeId=root, selector="input[type=file]")["nodeId"]
    page.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node)


def click_button(page: DevTools, label: str) -> None:
    page.js(f"[...document.querySelectorAll('button')].find(b => b.innerText.trim() === '{label}'"
            " && b.offsetParent !== null).click()")


def open_with_prompt(page: DevTools, port: int, prompt: str) -> None:
    """Load the app in ``page`` and type ``prompt`` into the Text tab, then wait until idle."""
    page.call("Page.enable")
    page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
    page.wait("document.querySelector('input[aria-label=\"Prompt\"]') !== null")
    page.wait(IDLE)
    page.js("document.querySelector('input[aria-label=\"Prompt\"]').focus()")
    page.call("Input.insertText", text=prompt)
    page.call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13)
    page.wait(IDLE)


TABS = ("text", "mashup", "explore", "emojify")


def shoot(out_dir: Path, port: int = 8765, width: int = 1280, height: int = 1400, tabs=TABS) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("no chromium on PATH: apt-get install chromium")
    out_dir.mkdir(parents=True, exist_ok=True)
    app = subprocess.Popen([sys.executable, "-m", "emoji_t2i.app", "--port", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as profile:
        chrome = subprocess.Popen([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                   "--remote-debugging-port=9333", f"--window-size={width},{height}", "about:blank"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(f"http://127.0.0.1:{port}/_stcore/health", 120)
            pages = json.loads(wait_for("http://127.0.0.1:9333/json", 60))
            page = DevTools(next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"])
            open_with_prompt(page, port, "crying cat")
            if "text" in tabs:
                click_button(page, "Generate")
                page.wait(IMAGES.format(n=4))
                page.wait(IDLE)
                page.screenshot(out_dir / "text.png")
            if "mashup" in tabs:
                click_tab(page, "Mash-up")
                page.wait(IDLE)
                click_button(page, "Mash up")
                page.wait(IMAGES.format(n=12))
                page.wait(IDLE)
                page.screenshot(out_dir / "mashup.png")
            if "explore" in tabs:
                click_tab(page, "Explore")
                page.wait(IMAGES.format(n=6))
                page.screenshot(out_dir / "explore.png")
            if "emojify" in tabs:
                click_tab(page, "Your image")
                page.wait(IDLE)
                upload(page, sample_photo())
                page.wait("[...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Emojify')")
                page.wait(IDLE)
                click_button(page, "Emojify")
                page.wait(IMAGES.format(n=5))
                page.wait(IDLE)
                page.screenshot(out_dir / "emojify.png")
        finally:
            chrome.terminate()
            app.terminate()
            chrome.wait(timeout=30)
            app.wait(timeout=30)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=Path("docs/app"))
    p.add_argument("--port", type=int, default=8765)
    args = p.parse_args(argv)
    try:
        shoot(args.out_dir, args.port)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
