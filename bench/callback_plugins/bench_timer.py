"""Per-task wall time for bench/run_bench.py (not shipped; enabled only by the benchmark).

The time of a task is from its start to the start of the next task (or play, or the end of
the run): it includes the strategy's per-host dispatch and result handling, i.e. what a user
waits for. Writes a JSON list to $BENCH_TIMER_FILE:
[{"name", "action", "role", "path", "seconds", "hosts"}, ...] in execution order.
"""
import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: per-task wall time for the benchmark (JSON to $BENCH_TIMER_FILE)
description: [Used by bench/run_bench.py only.]
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.rows = []
        self.current = None
        self.t0 = time.monotonic()

    def _close(self):
        if self.current is not None:
            self.current["seconds"] = round(time.monotonic() - self.current.pop("_start"), 4)
            self.rows.append(self.current)
            self.current = None

    def _start(self, task, kind="task"):
        self._close()
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        self.current = {"name": task.get_name(), "action": task.action, "role": role, "kind": kind,
                        "path": task.get_path() or "", "hosts": 0, "_start": time.monotonic()}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, "handler")

    def v2_playbook_on_play_start(self, play):
        self._close()

    def _count(self, *args, **kwargs):
        if self.current is not None:
            self.current["hosts"] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _count

    def v2_playbook_on_stats(self, stats):
        self._close()
        out = os.environ.get("BENCH_TIMER_FILE")
        if out:
            with open(out, "w") as fh:
                json.dump({"total": round(time.monotonic() - self.t0, 4), "tasks": self.rows}, fh, indent=1)
