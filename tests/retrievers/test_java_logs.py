"""Java's log lines go to a log file; only errors reach the terminal (issue 27: quiet output)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers.extras import LUCENE

from rankify_lite.retrievers import java_logs

pytestmark = LUCENE
REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, RANKIFY_LITE_CACHE=str(tmp_path / "cache"))
    env.pop("RANKIFY_LITE_JAVA_LOG", None)
    return env


def test_log_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKIFY_LITE_JAVA_LOG", str(tmp_path / "my" / "java.log"))
    assert java_logs.java_log_path() == (tmp_path / "my" / "java.log").resolve()
    monkeypatch.delenv("RANKIFY_LITE_JAVA_LOG")
    monkeypatch.setenv("RANKIFY_LITE_CACHE", str(tmp_path / "c"))
    assert java_logs.java_log_path() == tmp_path / "c" / "logs" / "java.log"
    options = java_logs.logging_options()
    assert any(o.startswith("-Dlog4j2.configurationFile=file:") for o in options)
    assert "-Dslf4j.internal.verbosity=WARN" in options
    # a JVM crash report goes beside the log, never into the user's working folder
    assert f"-XX:ErrorFile={tmp_path / 'c' / 'logs' / 'java-crash-%p.log'}" in options
    assert (tmp_path / "c" / "logs" / "java-log4j2.xml").is_file()


@pytest.mark.slow
def test_info_goes_to_the_log_file_and_errors_stay_on_stderr(tmp_path):
    script = textwrap.dedent("""
        from rankify_lite.retrievers.java import ensure_jvm
        from rankify_lite.retrievers import BM25
        from rankify_lite.types import Corpus, Document, Queries
        ensure_jvm()
        import jnius
        log4j = jnius.autoclass("org.apache.logging.log4j.LogManager").getLogger("io.anserini.x")
        log4j.info("an info line from log4j")
        log4j.error("an error line from log4j")
        slf4j = jnius.autoclass("org.slf4j.LoggerFactory").getLogger("io.anserini.y")
        slf4j.info("an info line from slf4j")
        jul = jnius.autoclass("java.util.logging.Logger").getLogger("org.apache.lucene.z")
        jul.info("an info line from java.util.logging")
        jul.severe("a severe line from java.util.logging")
        # Anserini's indexer (-quiet) raises its root level to ERROR: log before it
        corpus = Corpus.from_documents([Document("d1", "lucene logs quietly"),
                                        Document("d2", "another passage")])
        run = BM25(threads=1).index(corpus).retrieve(Queries.from_dict({"q": "lucene"}), k=2)
        print("top", run["q"].doc_ids[0])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=_env(tmp_path), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    assert done.stdout.strip() == "top d1"
    assert "SLF4J" not in terminal and "INFO" not in terminal and "info line" not in terminal
    assert "an error line from log4j" in done.stderr            # errors are kept
    assert "a severe line from java.util.logging" in done.stderr
    logs = tmp_path / "cache" / "logs"
    text = (logs / "java.log").read_text()
    assert "an info line from log4j" in text and "an info line from slf4j" in text
    assert "an error line from log4j" in text
    jul = (logs / "java-jul.log").read_text()
    assert "an info line from java.util.logging" in jul and "a severe line" in jul


@pytest.mark.slow
def test_the_main_job_prints_no_java_lines(tmp_path, scifact):
    """The README's main job (Lucene indexing + retrieval of SciFact) on a cold cache."""
    done = subprocess.run([sys.executable, "-m", "rankify_lite.cli.main", "run", "--dataset",
                           "beir/scifact", "--retriever", "bm25", "--no-cache"],
                          capture_output=True, text=True, env=_env(tmp_path), cwd=REPO,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    terminal = done.stdout + done.stderr
    assert "0.6789" in done.stdout
    for noise in ("SLF4J", "INFO", "log4j", "WARNING: "):
        assert noise not in terminal, (noise, terminal[-2000:])
    assert (tmp_path / "cache" / "logs" / "java.log").exists()
