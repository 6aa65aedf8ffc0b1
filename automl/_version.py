"""The package version (one place; automl.__version__ and the study attributes read it)."""

__version__ = "0.1.0"
