"""Where the JVM's log lines go: a log file, with only errors on the terminal.

Anserini's own ``log4j2.xml`` prints every INFO line to stdout, Lucene logs through
``java.util.logging`` (``INFO:`` lines on stderr) and SLF4J announces its provider
(``SLF4J(I): Connected with provider ...``). None of that belongs in a results table. Before the
JVM starts, :func:`logging_options` writes a log4j2 configuration and a ``java.util.logging``
configuration that send everything (INFO and up) to one log file, and ERROR / SEVERE lines also
to stderr, and returns the ``-D`` options that select them (plus SLF4J's own verbosity: warnings
and errors only).

The log file is ``$RANKIFY_LITE_JAVA_LOG`` when set, else ``$RANKIFY_LITE_CACHE/logs/java.log``
(``java.util.logging`` writes beside it, ``java-jul.log``).
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

#: ``-D`` property that marks a JVM started with our logging set-up
MARKER = "rankify_lite.java_log"

_LOG4J2 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written by rankify_lite (retrievers/java_logs.py): INFO and up to the file, errors also to
     stderr -->
<Configuration status="ERROR">
  <Appenders>
    <File name="LOG" fileName={log} append="true">
      <PatternLayout pattern="%d %-5p [%t] %c{{2}} - %m%n"/>
    </File>
    <Console name="ERRORS" target="SYSTEM_ERR">
      <ThresholdFilter level="ERROR" onMatch="ACCEPT" onMismatch="DENY"/>
      <PatternLayout pattern="java %-5p %c{{2}} - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.parquet" level="error"/>
    <Logger name="org.apache.hadoop" level="warn"/>
    <Root level="info">
      <AppenderRef ref="LOG"/>
      <AppenderRef ref="ERRORS"/>
    </Root>
  </Loggers>
</Configuration>
"""

_JUL = """# written by rankify_lite (retrievers/java_logs.py): INFO and up to the file, SEVERE to stderr
handlers=java.util.logging.FileHandler, java.util.logging.ConsoleHandler
.level=INFO
java.util.logging.FileHandler.pattern={pattern}
java.util.logging.FileHandler.append=true
java.util.logging.FileHandler.level=INFO
java.util.logging.FileHandler.formatter=java.util.logging.SimpleFormatter
java.util.logging.ConsoleHandler.level=SEVERE
java.util.logging.ConsoleHandler.formatter=java.util.logging.SimpleFormatter
java.util.logging.SimpleFormatter.format=%1$tF %1$tT %4$s %3$s - %5$s%6$s%n
"""


def java_log_path() -> Path:
    """The file the JVM's log lines go to (see the module docstring)."""
    own = os.environ.get("RANKIFY_LITE_JAVA_LOG")
    if own:
        return Path(own).expanduser().resolve()
    from rankify_lite.cache import cache_dir

    return cache_dir("logs") / "java.log"


def _jul_pattern(path: Path) -> str:
    # java.util.logging expands %t, %h, %g, %u and %%; properties files treat \ as an escape
    return str(path).replace("%", "%%").replace("\\", "/")


def logging_options() -> list[str]:
    """Write the two configurations beside the log file; the JVM options that use them."""
    log = java_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    log4j2 = log.with_name(log.stem + "-log4j2.xml")
    jul = log.with_name(log.stem + "-logging.properties")
    log4j2.write_text(_LOG4J2.format(log=quoteattr(str(log))), encoding="utf-8")
    jul_log = log.with_name(log.stem + "-jul.log")
    jul.write_text(_JUL.format(pattern=_jul_pattern(jul_log)), encoding="utf-8")
    return [f"-Dlog4j2.configurationFile={log4j2.as_uri()}",
            f"-Djava.util.logging.config.file={jul}",
            "-Dslf4j.internal.verbosity=WARN",
            # a JVM crash report (hs_err_pid*.log) goes beside the log, not into the user's cwd
            f"-XX:ErrorFile={log.with_name('java-crash-%p.log')}",
            f"-D{MARKER}={log}"]


def configured() -> bool:
    """Whether the running JVM was started with these options (else logs are only quietened)."""
    try:
        import jnius_config
    except ImportError:  # pragma: no cover - pyjnius is part of the bm25 extra
        return False
    return any(o.startswith(f"-D{MARKER}=") for o in jnius_config.get_options())


__all__ = ["configured", "java_log_path", "logging_options"]
