"""Prompts as data: the packaged YAML templates in this folder (versioned, hashed into a run's
metadata), ``templates.py`` (load one by name or path), ``presets.py`` (which template a model id
gets) and ``clean.py`` (passage and query text cleaning). Nothing is imported here."""
