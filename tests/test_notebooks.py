"""The quickstart notebook runs top to bottom (with tiny settings) in a real kernel."""

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    monkeypatch.setenv("EMOJI_T2I_QUICKSTART", "tiny")
    monkeypatch.setenv("EMOJI_T2I_QUICKSTART_RUN", str(tmp_path / "runs" / "quickstart"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    # The kernel is this interpreter (the venv's), so the notebook sees the installed package.
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}})
    client.kernel_manager_class = _venv_kernel_manager()
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    # <= 1: the SavedModel graph and eager code may round a value at .5 differently (as in
    # the export test); anything more would mean a different model or noise.
    found = re.search(r"max difference to in-process generation: (\d+)", text)
    assert found and int(found.group(1)) <= 1, text[-500:]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) >= 5  # shipped model, data, last sample grid, generated grid, exported grid
    assert (tmp_path / "runs" / "quickstart" / "checkpoints").is_dir()
    assert (tmp_path / "runs" / "quickstart-savedmodel" / "saved_model.pb").is_file()


def _venv_kernel_manager():
    from jupyter_client.manager import KernelManager

    class VenvKernelManager(KernelManager):
        """Start ipykernel with sys.executable whatever kernelspecs the machine has."""

        def format_kernel_cmd(self, extra_arguments=None):
            return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]

    return VenvKernelManager
