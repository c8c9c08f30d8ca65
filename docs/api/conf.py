"""Sphinx configuration of the API reference: rendered from the numpydoc docstrings of the four packages.

Build: ``python -m sphinx -W -b html docs/api <out>`` (the tests build it with warnings as errors).
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from mitheory import __version__  # noqa: E402  (the checkout's own version, after the path insert)

project = "mid-toolkit"
author = "mid-toolkit contributors"
copyright = "mid-toolkit contributors"
version = release = __version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.mathjax", "numpydoc"]
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # the signatures show them; numpydoc's Parameters sections describe them
numpydoc_show_class_members = False
autodoc_inherit_docstrings = False  # scikit-learn's inherited docstrings cite its own glossary
numpydoc_validation_checks: set[str] = set()
exclude_patterns = ["_build", "generated/*.tmp"]
html_theme = "alabaster"


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated metadata-routing setters (``set_fit_request``, ...)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
