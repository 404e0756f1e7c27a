"""The CLIs' console: the project's warnings print as one line, a library's keep Python's form."""

import io
import warnings

import emoji_t2i.pipelines.text_to_image as text_to_image
from emoji_t2i.console import quiet_tensorflow


def test_the_projects_warnings_print_as_one_line_and_a_librarys_as_python_prints_them():
    with warnings.catch_warnings():
        saved_format = warnings.formatwarning
        try:
            quiet_tensorflow()
            ours = warnings.formatwarning("prompt '' has no word", UserWarning, text_to_image.__file__, 10,
                                          "warnings.warn(...)")
            theirs = warnings.formatwarning("deprecated", DeprecationWarning, io.__file__, 10, "x = 1")
            with warnings.catch_warnings(record=True) as recorded:  # what pytest.warns relies on
                warnings.simplefilter("always")
                quiet_tensorflow()  # a CLI's main() called where warnings are recorded
                warnings.warn("still recorded", UserWarning, stacklevel=1)
        finally:
            warnings.formatwarning = saved_format
    assert ours == "warning: prompt '' has no word\n"
    assert "DeprecationWarning" in theirs and io.__file__ in theirs
    assert [str(w.message) for w in recorded] == ["still recorded"]
