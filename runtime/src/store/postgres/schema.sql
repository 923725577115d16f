-- Version 1 of the PostgreSQL store's schema (`SCHEMA_VERSION`). All times are
-- microseconds since the Unix epoch, all durations microseconds.
--
-- A lease is its owner, token and deadline, all set or all NULL (unleased);
-- every claim sets a fresh random token (`store::new_token`), never an
-- increment. A run's workflow task is ready while `inbox_count > 0`. The
-- `runs_ready*` indexes hold the ready runs that are not held; `runs_ready_held`
-- the held ones by `held_at`, so that a claim by a worker started before every
-- hold skips them in one index probe, however many there are (only a worker
-- started after a hold claims the run).
CREATE TABLE weft_schema (
    version integer NOT NULL
);
CREATE TABLE runs (
    run_id         text PRIMARY KEY,
    workflow_id    text NOT NULL,
    workflow_type  text NOT NULL,
    task_queue     text NOT NULL,
    status         text NOT NULL,
    created_at     bigint NOT NULL,
    closed_at      bigint,
    next_event_id  bigint NOT NULL,
    held           text,
    held_at        bigint,
    inbox_count    bigint NOT NULL DEFAULT 0,
    lease_owner    text,
    lease_token    bigint,
    lease_deadline bigint,
    sticky_owner   text,
    created_seq    bigserial NOT NULL
);
CREATE UNIQUE INDEX runs_open_workflow_id ON runs (workflow_id) WHERE status = 'running';
CREATE INDEX runs_by_workflow_id ON runs (workflow_id, created_at);
CREATE INDEX runs_by_created_at ON runs (created_at, created_seq);
CREATE INDEX runs_ready ON runs (task_queue, created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_ready_by_age ON runs (created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_ready_sticky ON runs (sticky_owner, created_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NULL;
CREATE INDEX runs_ready_held ON runs (held_at)
    WHERE status = 'running' AND inbox_count > 0 AND held IS NOT NULL;
CREATE INDEX runs_leased ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_lease_deadline ON runs (task_queue, lease_deadline) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_sticky ON runs (sticky_owner) WHERE sticky_owner IS NOT NULL;
CREATE TABLE events (
    run_id     text NOT NULL,
    event_id   bigint NOT NULL,
    event_type text NOT NULL,
    data       text NOT NULL,
    checksum   bigint NOT NULL,
    PRIMARY KEY (run_id, event_id)
);
CREATE SEQUENCE activity_queue_seq;
CREATE TABLE activity_tasks (
    run_id             text NOT NULL,
    seq                bigint NOT NULL,
    workflow_id        text NOT NULL,
    task_queue         text NOT NULL,
    scheduled_event_id bigint NOT NULL,
    activity_id        text NOT NULL,
    activity_type      text NOT NULL,
    input              text NOT NULL,
    options            text NOT NULL,
    start_to_close     bigint NOT NULL,
    heartbeat_timeout  bigint,
    schedule_to_start  bigint,
    close_deadline     bigint,
    scheduled_at       bigint NOT NULL,
    attempt            bigint NOT NULL,
    running            boolean NOT NULL,
    ready_at           bigint NOT NULL,
    started_at         bigint,
    attempt_deadline   bigint,
    heartbeat_deadline bigint,
    expires_at         bigint,
    lease_owner        text,
    lease_token        bigint,
    lease_deadline     bigint,
    last_failure       text,
    heartbeat_details  text,
    cancel_requested   boolean NOT NULL DEFAULT false,
    -- The order rows were queued in (scheduled or retried): claims take the
    -- oldest `ready_at` first, and of equal ones the first queued.
    queued_seq         bigint NOT NULL DEFAULT nextval('activity_queue_seq'),
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX activity_tasks_ready ON activity_tasks (task_queue, activity_type, ready_at) WHERE NOT running;
CREATE INDEX activity_tasks_ready_by_age ON activity_tasks (ready_at, queued_seq) WHERE NOT running;
CREATE TABLE timers (
    run_id           text NOT NULL,
    seq              bigint NOT NULL,
    task_queue       text NOT NULL,
    started_event_id bigint NOT NULL,
    fire_at          bigint NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX timers_due ON timers (task_queue, fire_at);
CREATE TABLE inbox (
    id     bigserial PRIMARY KEY,
    run_id text NOT NULL,
    item   text NOT NULL
);
CREATE INDEX inbox_by_run ON inbox (run_id, id);
CREATE TABLE workers (
    worker_id      text PRIMARY KEY,
    host           text NOT NULL,
    pid            bigint NOT NULL,
    task_queues    text[] NOT NULL,
    workflow_types text[] NOT NULL,
    activity_types text[] NOT NULL,
    started_at     bigint NOT NULL,
    expires_at     bigint NOT NULL
);
