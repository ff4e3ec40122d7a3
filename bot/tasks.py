"""Cloud Tasks: the webhook's work goes into App Engine's own queue.

With BOT_TASKS_QUEUE set, POST /webhook only records the update as "queued" in the
ledger and enqueues one App Engine HTTP task for it (body = the update as Telegram sent
it), then answers 200 at once; the queue POSTs the task to TASK_ROUTE, where the update
runs with App Engine's 10-minute task deadline. Tasks are named after the bot and the
update, so the production queue drops a second task for the same update (for about an
hour after the first ran); the ledger stays the exactly-once guard, because Cloud Tasks
delivers at least once.

CLOUD_TASKS_EMULATOR_HOST=host:port talks to gcloud-tasks-emulator over an insecure gRPC
channel instead (tests; README says what starts it).
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

TASK_ROUTE = "/tasks/update"
QUEUE_HEADER = "X-AppEngine-QueueName"
# One create_task call. With the ledger's "queued" mark (≤ 0.3 s, bot/runtime.MARK_BUDGET)
# the webhook answers Telegram within a second whatever happens.
ENQUEUE_TIMEOUT = 0.6


class EnqueueError(RuntimeError):
    """The task could not be created: the webhook answers 5xx, Telegram resends."""


def task_id(bot_id: str, update_id: int) -> str:
    """The task's name in its queue. A short hash first: Cloud Tasks spreads names that do
    not share a prefix (sequential names make a hot spot), the rest is for people."""
    readable = f"{bot_id}-{update_id}"
    digest = hashlib.sha256(readable.encode()).hexdigest()[:8]
    return f"{digest}-{readable}".replace(":", "-")


def queue_matches(header: str, queue: str) -> bool:
    """App Engine sends the queue's short id, the emulator its full path."""
    return bool(header) and header in (queue, queue.rsplit("/", 1)[-1])


class TaskQueue:
    """The Cloud Tasks client for one queue; built on first use, once per process (gRPC
    channels do not survive a fork)."""

    def __init__(self, queue: str, emulator_host: str = "") -> None:
        self.queue = queue
        self.emulator_host = emulator_host
        self._lock = threading.Lock()
        self._client: Any = None

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                # By name: google-cloud-tasks' type hints would make mypy take the whole
                # google.cloud namespace for typed, and google-cloud-storage is not.
                tasks_v2 = importlib.import_module("google.cloud.tasks_v2")
                if self.emulator_host:
                    import grpc

                    transports = importlib.import_module(
                        "google.cloud.tasks_v2.services.cloud_tasks.transports")
                    channel = grpc.insecure_channel(self.emulator_host)
                    self._client = tasks_v2.CloudTasksClient(
                        transport=transports.CloudTasksGrpcTransport(channel=channel))
                else:
                    self._client = tasks_v2.CloudTasksClient()
            return self._client

    def enqueue(self, bot_id: str, update_id: int, body: bytes) -> bool:
        """Create the update's task; False when the queue already holds one of that name.
        Raises EnqueueError when the queue cannot be reached."""
        from google.api_core import exceptions

        task = {
            "name": f"{self.queue}/tasks/{task_id(bot_id, update_id)}",
            "app_engine_http_request": {
                "http_method": "POST",
                "relative_uri": TASK_ROUTE,
                "body": body,
                # Without it the body arrives form-encoded (the emulator's urllib default).
                "headers": {"Content-Type": "application/json"},
            },
        }
        try:
            self.client().create_task(parent=self.queue, task=task, timeout=ENQUEUE_TIMEOUT,
                                      retry=None)
        except exceptions.AlreadyExists:
            log.info("update %s: its task already exists", update_id)
            return False
        except (exceptions.GoogleAPICallError, exceptions.RetryError, ValueError) as exc:
            if isinstance(exc, (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded)):
                # The queue could not be reached: a new channel next time. This one would
                # wait out gRPC's reconnect backoff (up to minutes) after the queue is back,
                # answering every resend meanwhile with a 503.
                self.close()
            raise EnqueueError(f"cannot enqueue update {update_id}: {exc}") from exc
        return True

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.transport.close()
