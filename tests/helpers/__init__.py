"""Helpers shared by the tests (tiny models, fake LMs, slow rerankers, ...).

``tests/`` is on ``sys.path`` (``pythonpath`` in pyproject.toml), so any test file,
run alone, imports them as ``from helpers.tiny import tiny_bert_folder``.
"""
