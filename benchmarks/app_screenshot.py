"""Start the web app on 127.0.0.1, drive it in headless Chromium (Debian's ``chromium``) over
the DevTools protocol, and save screenshots: what docs/app.md shows.

    python benchmarks/app_screenshot.py --out-dir docs/app

Text tab: types "crying cat", clicks Generate, waits for the images (text.png); Mash-up tab:
clicks "Mash up" on its default prompts (mashup.png); Explore tab, between two prompts
(explore.png); Your image tab: uploads a photo (matplotlib's sample portrait of Grace Hopper,
public domain) and clicks Emojify (emojify.png); then, as "A part of it redrawn", uploads
Google's neutral face, chooses "what you paint", paints a stroke across its eyes with the
mouse and redraws them as "sleeping face" (inpaint_paint.png). Exits 3 (and says so) when no Chromium is
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
    """Give the visible file uploader a file, as a person choosing it would (other tabs' and
    closed expanders' uploaders are in the page too, hidden)."""
    visible = page.js("[...document.querySelectorAll('input[type=file]')].findIndex(input => "
                      "(input.closest('[data-testid=\"stFileUploader\"]') || input.parentElement)"
                      ".offsetParent !== null)")
    if visible is None or visible < 0:
        raise RuntimeError("no visible file uploader on the page")
    root = page.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
    nodes = page.call("DOM.querySelectorAll", nodeId=root, selector="input[type=file]")["nodeIds"]
    page.call("DOM.setFileInputFiles", files=[str(path)], nodeId=nodes[visible])


def click_button(page: DevTools, label: str) -> None:
    page.js(f"[...document.querySelectorAll('button')].find(b => b.innerText.trim() === '{label}'"
            " && b.offsetParent !== null).click()")


def click_text(page: DevTools, selector: str, text: str) -> None:
    """Click the visible element matching ``selector`` whose text is ``text``."""
    page.js(f"[...document.querySelectorAll('{selector}')].find(e => e.innerText.trim() === {json.dumps(text)}"
            " && e.offsetParent !== null).click()")


def choose(page: DevTools, label: str, option: str) -> None:
    """Pick ``option`` in the visible select box labelled ``label``, by typing it as a person can."""
    page.js("[...document.querySelectorAll('[data-testid=\"stSelectbox\"]')].find(e => e.offsetParent !== null"
            f" && e.innerText.includes({json.dumps(label)})).querySelector('input').focus()")
    page.call("Input.insertText", text=option)
    time.sleep(0.5)
    page.call("Input.dispatchKeyEvent", type="keyDown", key="Enter", code="Enter", windowsVirtualKeyCode=13)
    page.wait(IDLE)


# The canvas component renders inside a shadow root: find its top canvas (the one that takes
# the pointer) wherever it is, scrolled into view.
FIND_CANVAS = """(() => {
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.classList.contains('upper-canvas')) return el;
      if (el.shadowRoot) { const found = walk(el.shadowRoot); if (found) return found; }
    }
    return null;
  };
  return walk(document);
})()"""


def paint_stroke(page: DevTools, start: tuple[float, float], end: tuple[float, float], steps: int = 24) -> None:
    """Drag the mouse over the paint canvas from ``start`` to ``end`` (fractions of its size)."""
    page.wait(f"{FIND_CANVAS} !== null")
    rect = (f"(() => {{ const r = {FIND_CANVAS}.getBoundingClientRect();"
            " return [r.left, r.top, r.width, r.height]; })()")
    box = page.js(rect)
    if box[1] + box[3] > page.js("window.innerHeight"):  # below the fold: scroll it into view
        page.js(f"window.scrollBy(0, {box[1] + box[3] - page.js('window.innerHeight') + 40})")
        time.sleep(1)
        box = page.js(rect)
    points = [(box[0] + box[2] * (start[0] + (end[0] - start[0]) * i / steps),
               box[1] + box[3] * (start[1] + (end[1] - start[1]) * i / steps)) for i in range(steps + 1)]
    page.call("Input.dispatchMouseEvent", type="mouseMoved", x=points[0][0], y=points[0][1])
    page.call("Input.dispatchMouseEvent", type="mousePressed", x=points[0][0], y=points[0][1], button="left",
              buttons=1, clickCount=1)
    for x, y in points[1:]:
        page.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y, button="left", buttons=1)
        time.sleep(0.02)
    page.call("Input.dispatchMouseEvent", type="mouseReleased", x=points[-1][0], y=points[-1][1], button="left",
              buttons=0, clickCount=1)


def neutral_face(folder: Path) -> Path:
    """Google's drawing of the neutral face from the embedded dataset, as a PNG in ``folder``."""
    import numpy as np
    from PIL import Image

    from emoji_t2i.data import load_dataset

    data = load_dataset()
    row = next(i for i, caps in enumerate(data.captions)
               if "neutral face" in caps and data.metadata["style"][i] == "google")
    path = folder / "neutral_face.png"
    Image.fromarray(np.asarray(data.images[row])).save(path)
    return path


def press_and_shoot(page: DevTools, label: str, images: int, path: Path) -> None:
    """Wait for the button ``label``, click it, wait for ``images`` images in the open tab and
    the app to be idle, and save the screenshot."""
    page.wait(f"[...document.querySelectorAll('button')].some(b => b.innerText.trim() === {json.dumps(label)})")
    page.wait(IDLE)
    click_button(page, label)
    page.wait(IMAGES.format(n=images))
    page.wait(IDLE)
    page.screenshot(path)


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


TABS = ("text", "mashup", "explore", "emojify", "paint")


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
                press_and_shoot(page, "Generate", 4, out_dir / "text.png")
            if "mashup" in tabs:
                click_tab(page, "Mash-up")
                page.wait(IDLE)
                press_and_shoot(page, "Mash up", 12, out_dir / "mashup.png")
            if "explore" in tabs:
                click_tab(page, "Explore")
                page.wait(IMAGES.format(n=6))
                page.screenshot(out_dir / "explore.png")
            if "emojify" in tabs:
                click_tab(page, "Your image")
                page.wait(IDLE)
                upload(page, sample_photo())
                press_and_shoot(page, "Emojify", 5, out_dir / "emojify.png")
            if "paint" in tabs:
                click_tab(page, "Your image")
                page.wait(IDLE)
                click_text(page, "label", "A part of it redrawn (diffusion)")
                # the rerun may not have begun when the page first looks idle: wait for the new
                # panel, so that the file goes to its uploader rather than the old panel's
                page.wait("document.body.innerText.includes('Your emoji (PNG')"
                          " && !document.body.innerText.includes('Your photo (PNG')")
                page.wait(IDLE)
                upload(page, neutral_face(Path(profile)))
                page.wait("document.querySelector('[data-testid=\"stFileChip\"]') !== null")
                page.wait(IDLE)
                choose(page, "Redraw", "what you paint")
                paint_stroke(page, (0.2, 0.42), (0.8, 0.42))
                press_and_shoot(page, "Redraw", 5, out_dir / "inpaint_paint.png")  # shown once paint is sent
        finally:
            chrome.terminate()
            app.terminate()
            chrome.wait(timeout=30)
            app.wait(timeout=30)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=Path("docs/app"))
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--tabs", nargs="+", choices=TABS, default=list(TABS), help="which screenshots (default: all)")
    p.add_argument("--height", type=int, default=1400, help="the window's height in pixels (paint: 1600)")
    args = p.parse_args(argv)
    try:
        shoot(args.out_dir, args.port, height=args.height, tabs=tuple(args.tabs))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
