"""Imported first by the analysis workers' fork server (:data:`traum.pipeline.processes.PRELOAD`): from
here on the server, and every worker it forks, ignores Ctrl+C.

Ctrl+C reaches the whole process group; the indexer handles it and shuts the workers down. The server
is started with SIGINT blocked (:func:`traum.pipeline.processes.worker_context`), so one pressed while
its interpreter starts waits here, and is dropped once SIGINT is ignored. Without this, a Ctrl+C while
the server imported numpy printed numpy's traceback under the indexer's one line.

A module of its own, outside ``traum.pipeline``: importing any module of that package imports the
package first, numpy and all. Never import it in a process that should stop on Ctrl+C.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
if hasattr(signal, "pthread_sigmask"):
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
