"""The run directory lives with the pipelines (inference reads runs without importing
training); training keeps this name for it."""

from emoji_t2i.pipelines.run_dir import RunDir, RunError, default_run_dir

__all__ = ["RunDir", "RunError", "default_run_dir"]
