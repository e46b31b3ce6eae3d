"""autograder: grade NumPy notebooks with a trusted judge and a jailed worker.

The command line is `autograder` (see `cli`); the reports are also a Python API
(`autograder.views.tables.load`).
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
