"""Machinery the LLM families share: the LLM reranker base classes (``base.py``), sliding windows
(``windows.py``), window prompts (``listwise_prompt.py``) and reasoning within a budget
(``reasoning.py``). Nothing is imported here."""
