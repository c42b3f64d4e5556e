"""The models shipped with the package (``models/``): package data, read through importlib.resources."""
