#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from real histories.

history_event, replay_export, payload: from the golden histories in
tests/histories (recorded runs of every example). store_rows: from the stores
the examples leave in the temp folder; run them first:

    cargo run -p weft-examples --example hello_activity
    cargo run -p weft-examples --example cancel_activity

Then minimize: cargo +nightly fuzz cmin -O -s none TARGET (see ci.sh).
"""
import glob, hashlib, json, os, sqlite3, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROW, CELL = b"\x1e", b"\x1f"  # weft::__fuzz::{ROW_SEPARATOR, CELL_SEPARATOR}
TABLES = {  # weft::__fuzz::TABLES
    "runs": ["run_id", "workflow_id", "workflow_type", "status", "created_at", "closed_at", "next_event_id", "held"],
    "events": ["run_id", "event_id", "event_type", "data", "checksum"],
    "activity_tasks": ["run_id", "seq", "workflow_id", "scheduled_event_id", "activity_id", "activity_type", "input",
                       "options", "scheduled_at", "attempt", "running", "started_at", "retry_at", "last_failure",
                       "heartbeat_details", "cancel_requested"],
    "timers": ["run_id", "seq", "started_event_id", "fire_at"],
    "inbox": ["id", "run_id", "item"],
}


def cell(v):
    return b"" if v is None else v if isinstance(v, bytes) else str(v).encode()


def put(target, name, data):
    os.makedirs(f"{HERE}/corpus/{target}", exist_ok=True)
    with open(f"{HERE}/corpus/{target}/{name}-{hashlib.sha1(data).hexdigest()[:12]}", "wb") as f:
        f.write(data)


for db in glob.glob(os.path.join(tempfile.gettempdir(), "weft-*.db")):
    conn = sqlite3.connect(db)
    rows = []
    for table, columns in TABLES.items():
        for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table}"):
            r = list(r)
            if table == "events":
                r[4] = None  # the harness writes the right checksum
            rows.append(CELL.join([table.encode()] + [cell(v) for v in r]))
    # A pending activity, timer and inbox item built from the first scheduled activity.
    for run_id, data in conn.execute("SELECT run_id, data FROM events WHERE event_type = 'ActivityTaskScheduled' LIMIT 1"):
        a = json.loads(data)["attributes"]
        (workflow_id,) = conn.execute("SELECT workflow_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        values = [run_id, a["seq"], workflow_id, 2, a["activity_id"], a["activity_type"], json.dumps(a["input"]),
                  json.dumps(a["options"]), 1764600000000000, 1, 0, None, 1764600001000000,
                  '{"error_type":"Boom","message":"x"}', '{"n":1}', 0]
        rows.append(CELL.join([b"activity_tasks"] + [cell(v) for v in values]))
        rows.append(CELL.join([b"timers", run_id.encode(), b"3", b"4", b"1764600002000000"]))
        rows.append(CELL.join([b"inbox", b"", run_id.encode(), b'{"TimerFired":{"started_event_id":4}}']))
    put("store_rows", os.path.basename(db)[5:-3], ROW.join(rows))

payloads = set()
for path in glob.glob(f"{HERE}/../../tests/histories/*.json"):
    text = open(path, "rb").read()
    put("replay_export", os.path.basename(path)[:-5], text)
    for event in json.loads(text):
        put("history_event", event["event_type"], json.dumps(event).encode())
        for key in ("input", "result"):
            if key in event["attributes"]:
                payloads.add(json.dumps(event["attributes"][key]))
# A failure with its cause chain (docs/history-format.md).
put("history_event", "chain", json.dumps({
    "event_id": 9, "timestamp": "2026-11-22T15:01:34.685120Z", "event_type": "WorkflowExecutionFailed",
    "attributes": {"failure": {
        "error_type": "ActivityFailure", "message": "activity `charge` (id 1) failed after 2 attempt(s)",
        "activity": {"activity_type": "charge", "activity_id": "1", "scheduled_event_id": 2, "attempt": 2,
                     "retry_state": "MaximumAttemptsReached"},
        "cause": {"error_type": "CardDeclined", "message": "card 4242 declined", "details": {"code": 51}}}}}).encode())
for p in payloads:
    put("payload", "p", p.encode())
