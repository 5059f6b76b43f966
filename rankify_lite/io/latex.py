"""The one LaTeX escaper: text from names and files written into a ``.tex`` table.

Every character LaTeX gives a meaning is written as itself: ``\\ { } $ ^ ~ & % # _``. A name
such as ``\\input{/etc/passwd}`` (a name may hold any printable character) is then printed, never
run: unescaped, compiling the table would read that file (and ``\\write18`` runs a command
under ``--shell-escape``); a lone ``$`` would break the compile.
"""

from __future__ import annotations

_SPECIALS = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
    "\n": " ", "\r": " ",   # a line break would end a % comment line and start code
})


def latex_escape(text: str) -> str:
    """``text`` with every LaTeX special character escaped (one pass: nothing twice)."""
    return str(text).translate(_SPECIALS)


__all__ = ["latex_escape"]
