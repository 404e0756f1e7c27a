"""The app in a real browser: started on 127.0.0.1, driven in headless Chromium (a prompt
typed, Generate clicked, a tab switched, a stroke painted with the mouse over an emoji and
redrawn), screenshots saved; each tab's controls are
tests/app/test_app.py's. Skipped where Debian's chromium is not installed (apt-get install chromium)."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit")
pytest.importorskip("websockets")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="no chromium: apt-get install chromium")
def test_app_renders_generated_emoji_in_chromium(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from app_screenshot import shoot

    # paint: shoot waits for the Redraw button, which shows only once the canvas sends paint
    # back, and for the redrawn emoji (Explore's controls: test_app.py, without a browser)
    shoot(tmp_path, port=8791, tabs=("text", "paint"))
    for name in ("text.png", "inpaint_paint.png"):
        shot = np.asarray(Image.open(tmp_path / name).convert("RGB")).astype(int)
        assert shot.shape[1] == 1280
        # the emoji grid: rows below the controls hold many colours, not a blank page
        lower = shot[700:]
        assert len(np.unique(lower.reshape(-1, 3), axis=0)) > 500, name
