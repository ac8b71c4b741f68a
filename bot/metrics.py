"""Prometheus metrics (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOK_REQUESTS = Counter("helpdesk_webhook_requests_total", "Webhook requests by HTTP status", ["status"])
EVENTS = Counter("helpdesk_events_total", "Webhook events by type and what became of them", ["type", "result"])
QUEUE_DEPTH = Gauge("helpdesk_queue_depth", "Events accepted and not yet processed")
PROCESSING_SECONDS = Histogram(
    "helpdesk_event_processing_seconds",
    "From dequeue to committed effects",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOUND_CALLS = Counter("helpdesk_outbound_calls_total", "Calls to the LINE platform", ["endpoint", "status"])
OUTBOX_RESULTS = Counter("helpdesk_outbox_results_total", "Outbox deliveries by result", ["result"])
HANDLER_TURNS = Counter("helpdesk_handler_turns_total", "Turns by handler", ["handler"])
SLA_JOBS = Counter("helpdesk_sla_jobs_total", "SLA job actions (breach, reminder, auto-close, transfer)", ["job"])
