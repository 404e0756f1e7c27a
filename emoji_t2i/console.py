"""What every command-line entry point shares: a quiet TensorFlow start, one-line errors and warnings.

TensorFlow 2.21 writes its start-up chatter ("oneDNN custom operations are on", "Could not find
cuda drivers", "failed call to cuInit") from C++ before its logging reads
``TF_CPP_MIN_LOG_LEVEL``, so the variable alone does not keep a CLI's terminal clean. The
import runs with file descriptor 2 captured, and every captured line that is not that chatter is
written back, so a real warning or error still reaches the user.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

from emoji_t2i.errors import UsageError

# absl's pre-initialisation banner and its INFO/WARNING lines ("I0000 00:00:17.. 123 port.cc:153] ...")
CHATTER = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                     r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\])")


PACKAGE = Path(__file__).resolve().parent
_python_format_warning = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None) -> str:
    if Path(filename).resolve().is_relative_to(PACKAGE):
        return f"warning: {message}\n"
    return _python_format_warning(message, category, filename, lineno, line)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up chatter; its C++ logs below FATAL stay off afterwards
    (a CLI's errors reach the user as Python exceptions). ``TF_CPP_MIN_LOG_LEVEL=0`` or ``1``
    asks for TensorFlow's logs and is left alone; 2, the usual "quiet" setting, still lets E-level
    lines such as "failed call to cuInit" through, so it is raised to 3. The project's own warnings
    print as one "warning: ..." line, without the source line Python quotes after them (a
    library's keep Python's format, which says where they come from).
    """
    warnings.formatwarning = _format_warning  # not showwarning: catch_warnings(record=True) must still record
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") not in ("0", "1"):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not CHATTER.match(line)]
            sys.stderr.write("".join(kept))


def check_image_output(path: Path, flag: str) -> None:
    """Fail now, before any sampling or projecting, if ``path`` names no image format Pillow
    writes (it would raise only once the image is made) or cannot be written."""
    from PIL import Image

    Image.init()
    suffix = Path(path).suffix.lower()
    if Image.registered_extensions().get(suffix) not in Image.SAVE:
        raise UsageError(f"{flag} {path}: Pillow writes no {suffix or 'extension-less'} images; end the "
                         "name in .png (or .webp, .gif, .jpg)")
    check_writable(path, flag)


def check_writable(path: Path, flag: str, folder: bool = False) -> None:
    """Fail now, before any work, if ``path`` (a file, or with ``folder`` a folder of files)
    cannot be written. It tries for real (root passes every permission check), and leaves
    nothing behind that was not there."""
    path = Path(path)
    probe = path / ".emoji_t2i-write-test" if folder else path
    blocking = next((p for p in probe.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:  # OSError would say only "File exists" or "Not a directory"
        raise UsageError(f"{flag} {path}: {blocking} is a file, not a folder; choose another path")
    created = [p for p in [*reversed(probe.parents), probe] if not p.exists()]
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        with open(probe, "ab"):
            pass
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write there ({e.strerror}); choose a writable place") from None
    finally:
        for made in reversed(created):
            try:
                made.unlink() if made.is_file() else made.rmdir()
            except OSError:
                pass

