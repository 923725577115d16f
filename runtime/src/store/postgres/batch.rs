//! Group commit: the steps and run creations that arrive while a batch is
//! being written go into the next one, and each batch is one transaction of
//! set-oriented statements (one array per column), however many runs it
//! holds, pipelined. A batch expected to pass goes in one round trip, the
//! server asserting its fences; otherwise (or if an assertion fails) in
//! two: the first locks and reads what the fences check, the second writes
//! what passed and commits. A write that is refused (a lost lease, a taken
//! workflow id) is refused alone and writes nothing; the others commit. A
//! batch whose transaction fails is written again one write at a time, so
//! that a write the server rejects fails only itself.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::pool::{Channels, Conn, Pool, refused};
use super::{ActivityColumns, INSERT_ACTIVITIES, LOCK_CLASS, activity_task_name, get, stale};
use crate::history::ParentClosePolicy;
use crate::store::codec::{checksum, micros, to_json};
use crate::store::{
    CHILD_CANCEL_REASON, Delivery, INBOX_GREW, InboxItem, RunRecord, RunStart, RunStatus, StepCommit, StepFence,
    WorkflowIdReusePolicy, parent_closed,
};
use crate::{Error, Result};

/// The most writes one batch holds.
const MAX_BATCH: usize = 256;

/// How many batches are written at once: while one waits for its commit to
/// be flushed, the next gathers and writes.
const WRITERS: usize = 2;

/// One write that may share a transaction with others.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "moved once into the queue, never copied")]
pub(super) enum Write {
    /// [`Store::create_run`](crate::store::Store::create_run).
    Create { run: RunRecord, start: RunStart, reuse: WorkflowIdReusePolicy },
    /// [`Store::commit_workflow_task`](crate::store::Store::commit_workflow_task).
    Step(StepCommit),
}

impl Write {
    /// The run it writes.
    fn run_id(&self) -> &str {
        match self {
            Write::Create { run, .. } => &run.run_id,
            Write::Step(step) => &step.run_id,
        }
    }

    /// The step it commits, if any.
    fn step(&self) -> Option<&StepCommit> {
        match self {
            Write::Create { start: RunStart::Step(step), .. } | Write::Step(step) => Some(step),
            Write::Create { start: RunStart::Inbox(_), .. } => None,
        }
    }
}

/// A write and where its outcome goes: for a step, whether the run is ready again.
pub(super) struct Request {
    pub(super) write: Write,
    pub(super) reply: oneshot::Sender<Result<bool>>,
}

/// The queue of writes and the tasks that write them in batches.
pub(super) struct Batcher {
    queue: mpsc::UnboundedSender<Request>,
}

impl Batcher {
    /// Starts the writer tasks on `runtime`; they stop at `stop` or when the batcher is dropped.
    pub(super) fn start(
        runtime: &tokio::runtime::Handle,
        pool: Arc<Pool>,
        channels: Arc<Channels>,
        schema: Arc<str>,
        stop: CancellationToken,
    ) -> Batcher {
        let (queue, receiver) = mpsc::unbounded_channel();
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let writers = WRITERS.min(pool.size);
        let target = Arc::new(Target { pool, channels, schema });
        for _ in 0..writers {
            let writer = Writer { target: target.clone(), receiver: receiver.clone(), carried: Vec::new() };
            runtime.spawn(writer.run(stop.clone()));
        }
        Batcher { queue }
    }

    /// Writes `write` in the next batch; its outcome. `Shutdown` once the store is closed.
    pub(super) async fn write(&self, write: Write) -> Result<bool> {
        let (reply, outcome) = oneshot::channel();
        self.queue.send(Request { write, reply }).map_err(|_| Error::Shutdown)?;
        outcome.await.unwrap_or(Err(Error::Shutdown))
    }
}

/// Where batches are written.
pub(super) struct Target {
    pub(super) pool: Arc<Pool>,
    pub(super) channels: Arc<Channels>,
    /// The PostgreSQL schema (in the workflow ids' advisory lock keys).
    pub(super) schema: Arc<str>,
}

/// One writer task.
struct Writer {
    target: Arc<Target>,
    receiver: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Request>>>,
    /// Writes of a run that the last batch already held: they go in the next.
    carried: Vec<Request>,
}

impl Writer {
    async fn run(mut self, stop: CancellationToken) {
        loop {
            let batch = tokio::select! {
                batch = self.gather() => batch,
                () = stop.cancelled() => return,
            };
            let Some(batch) = batch else { return };
            self.target.write(batch).await;
        }
    }

    /// The next batch: what was carried over and whatever is queued, at
    /// most one write per run; waits for one if there is none. `None` when
    /// the queue has closed.
    async fn gather(&mut self) -> Option<Vec<Request>> {
        let mut receiver = self.receiver.lock().await;
        if self.carried.is_empty() {
            self.carried.push(receiver.recv().await?);
        }
        let mut batch = Vec::new();
        let mut runs = HashSet::new();
        let mut next = std::mem::take(&mut self.carried).into_iter();
        while batch.len() < MAX_BATCH {
            let Some(request) = next.next().or_else(|| receiver.try_recv().ok()) else { break };
            if runs.insert(request.write.run_id().to_owned()) {
                batch.push(request);
            } else {
                self.carried.push(request);
            }
        }
        self.carried.extend(next);
        Some(batch)
    }
}

impl Target {
    /// Writes a batch in one transaction and answers each write; if the
    /// transaction fails, writes each alone.
    pub(super) async fn write(&self, batch: Vec<Request>) {
        let (writes, replies): (Vec<Write>, Vec<_>) = batch.into_iter().map(|r| (r.write, r.reply)).unzip();
        let writes = Arc::new(writes);
        match self.transaction(writes.clone()).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) if writes.len() == 1 => {
                let _ = replies.into_iter().next().map(|reply| reply.send(Err(e)));
            }
            Err(_) => {
                let writes = Arc::try_unwrap(writes).unwrap_or_else(|_| unreachable!("the transaction has ended"));
                for (write, reply) in writes.into_iter().zip(replies) {
                    let outcome = match self.transaction(Arc::new(vec![write])).await {
                        Ok(mut outcomes) => outcomes.pop().unwrap_or(Err(Error::Shutdown)),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(outcome);
                }
            }
        }
    }

    /// Writes `writes` in one transaction: each one's outcome, or the
    /// transaction's error (then nothing was written).
    ///
    /// A batch that is expected to pass (no write refused by its own shape,
    /// every creation under [`WorkflowIdReusePolicy::AllowDuplicate`], whose
    /// only refusal, an open run of the id, is the unique index's) is
    /// written in one round trip, its fences asserted by the server
    /// ([`Fences::assertions`]). If one is refused, that transaction is
    /// rolled back and the batch is written in two: the first reads the
    /// fences, which are checked here, write by write.
    pub(super) async fn transaction(&self, writes: Arc<Vec<Write>>) -> Result<Vec<Result<bool>>> {
        let mut conn = self.pool.get().await?;
        let mut outcomes: Vec<Option<Result<bool>>> = writes.iter().map(|w| check_shape(w).err().map(Err)).collect();
        let mut fences = Fences::ask(&self.schema, &writes, &outcomes);
        let hopeful = outcomes.iter().all(Option::is_none)
            && writes.iter().all(|w| match w {
                Write::Create { reuse, .. } => *reuse == WorkflowIdReusePolicy::AllowDuplicate,
                Write::Step(_) => true,
            });
        // Whether a hopeful transaction already ran on `conn` (it is then known to be alive).
        let mut hoped = false;
        if hopeful {
            let mut written = self.write_hoping(&mut conn, &writes, &fences).await;
            if written.is_err() && conn.died_idle() {
                drop(conn);
                conn = self.pool.get().await?;
                written = self.write_hoping(&mut conn, &writes, &fences).await;
            }
            match written {
                Ok(outcomes) => return Ok(outcomes),
                Err(e) if refused(&e) => hoped = true,
                Err(e) => {
                    conn.rollback().await;
                    return Err(e);
                }
            }
        }
        let answers = match conn.pipeline(Some("BEGIN"), &fences.statements(), None).await {
            Err(_) if !hoped && conn.died_idle() => {
                drop(conn);
                conn = self.pool.get().await?;
                conn.pipeline(Some("BEGIN"), &fences.statements(), None).await
            }
            answers => answers,
        };
        let result = async {
            fences.check(&writes, answers?, &mut outcomes)?;
            let changes = Changes::of(&writes, &mut outcomes, &mut conn, &self.channels.work)?;
            let answers = conn.pipeline(None, &changes.statements(), Some(&self.channels)).await?;
            changes.ready(&writes, answers, &mut outcomes)?;
            Ok(outcomes.into_iter().map(|o| o.unwrap_or(Ok(false))).collect())
        }
        .await;
        if result.is_err() {
            conn.rollback().await;
        }
        result
    }

    /// Writes every write of `writes` in one round trip, the server
    /// asserting their fences; an error [`refused`] says one did not hold
    /// (the transaction has then been rolled back).
    async fn write_hoping(&self, conn: &mut Conn, writes: &[Write], fences: &Fences<'_>) -> Result<Vec<Result<bool>>> {
        let mut outcomes: Vec<Option<Result<bool>>> = writes.iter().map(|_| None).collect();
        let changes = Changes::of(writes, &mut outcomes, conn, &self.channels.work)?;
        let mut statements = fences.assertions();
        statements.extend(changes.statements());
        let answers = conn.pipeline(Some("BEGIN"), &statements, Some(&self.channels)).await?;
        changes.ready(writes, answers, &mut outcomes)?;
        Ok(outcomes.into_iter().map(|o| o.unwrap_or(Ok(false))).collect())
    }
}

/// The fields of a run's row that a step's fence reads.
struct RunState {
    next_event_id: u64,
    running: bool,
    lease_token: Option<i64>,
}

/// Checks a step's fence against its run's locked row: `StaleTask` if the
/// lease or the run's history has moved on.
fn check_fence(step: &StepCommit, run: Option<&RunState>) -> Result<()> {
    let id = &step.run_id;
    let Some(run) = run else { return Err(stale(id, "workflow task", "the run does not exist")) };
    if !run.running {
        return Err(stale(id, "workflow task", "the run is closed"));
    }
    match step.fence {
        StepFence::Leased { token } if run.lease_token != Some(token) => {
            return Err(stale(id, "workflow task", "its lease was lost to another worker"));
        }
        // A lease that ended but was not taken again still blocks it.
        StepFence::Unleased if run.lease_token.is_some() => {
            return Err(stale(id, "workflow task", "another worker holds the run's workflow task"));
        }
        _ => {}
    }
    if run.next_event_id != step.first_event_id {
        return Err(stale(id, "workflow task", "the run's history has moved on"));
    }
    Ok(())
}

/// Checks what a write says of itself, before any statement runs.
fn check_shape(write: &Write) -> Result<()> {
    if let Write::Create { run, start: RunStart::Step(step), .. } = write
        && (step.fence != StepFence::Unleased || step.run_id != run.run_id || step.first_event_id != 1)
    {
        return Err(Error::store(format!(
            "the first step of run {} must be unleased, of that run, and start at event 1",
            run.run_id
        )));
    }
    if let Some(step) = write.step() {
        for (i, event) in step.events.iter().enumerate() {
            if event.event_id != step.first_event_id + i as u64 {
                return Err(Error::store(format!("event {} out of order in run {}", event.event_id, step.run_id)));
            }
        }
    }
    Ok(())
}

/// A statement and its parameters, for [`Conn::pipeline`].
type Statement<'a> = (&'static str, Vec<&'a (dyn ToSql + Sync)>);

/// The first round trip of a batch: it locks and reads what the fences
/// check. Creations take their workflow ids' advisory locks (in hash order,
/// so that batches never wait on each other in a cycle) and read each id's
/// newest run; steps lock their runs' rows (in id order, as every batch does)
/// and the rows their deliveries remove.
struct Fences<'w> {
    /// The creations asked about, by index in the batch.
    creates: Vec<usize>,
    lock_keys: Vec<String>,
    workflow_ids: Vec<&'w str>,
    runs_locked: Vec<&'w str>,
    /// The steps' fences (run, next event id, lease token or none), for [`Fences::assertions`].
    expected: (Vec<&'w str>, Vec<i64>, Vec<Option<i64>>),
    activities: (Vec<&'w str>, Vec<i64>, Vec<i64>, Vec<i64>),
    timers: (Vec<&'w str>, Vec<i64>),
    /// Runs the steps close, and every inbox item those steps consumed: the
    /// run's inbox must hold nothing else ([`INBOX_GREW`]).
    closing: (Vec<&'w str>, Vec<i64>),
    /// After [`Fences::check`]: the fenced rows of the steps' runs (created ones included).
    runs: HashMap<String, RunState>,
}

impl<'w> Fences<'w> {
    fn ask(schema: &str, writes: &'w [Write], outcomes: &[Option<Result<bool>>]) -> Fences<'w> {
        let mut fences = Fences {
            creates: Vec::new(),
            lock_keys: Vec::new(),
            workflow_ids: Vec::new(),
            runs_locked: Vec::new(),
            expected: Default::default(),
            activities: Default::default(),
            timers: Default::default(),
            closing: Default::default(),
            runs: HashMap::new(),
        };
        for (i, (write, _)) in writes.iter().zip(outcomes).enumerate().filter(|(_, (_, o))| o.is_none()) {
            match write {
                Write::Create { run, .. } => {
                    fences.creates.push(i);
                    fences.lock_keys.push(format!("{schema}/{}", run.workflow_id));
                    fences.workflow_ids.push(&run.workflow_id);
                }
                Write::Step(step) => {
                    if step.close.is_some() {
                        fences.closing.0.push(&step.run_id);
                        fences.closing.1.extend(&step.consumed);
                    }
                    fences.runs_locked.push(&step.run_id);
                    fences.expected.0.push(&step.run_id);
                    fences.expected.1.push(step.first_event_id as i64);
                    fences.expected.2.push(match step.fence {
                        StepFence::Leased { token } => Some(token),
                        StepFence::Unleased => None,
                    });
                }
            }
            match write.step().and_then(|s| s.delivered.as_ref()) {
                Some(Delivery::ActivityClosed(fence)) => {
                    fences.activities.0.push(&fence.key.run_id);
                    fences.activities.1.push(fence.key.seq as i64);
                    fences.activities.2.push(fence.attempt as i64);
                    fences.activities.3.push(fence.token);
                }
                Some(Delivery::TimerFired { seq }) => {
                    fences.timers.0.push(write.run_id());
                    fences.timers.1.push(*seq as i64);
                }
                None => {}
            }
        }
        fences.runs_locked.sort_unstable();
        fences
    }

    /// Statements that lock what [`Fences::statements`] locks and fail the
    /// transaction (with `division_by_zero`, see [`refused`]) unless every
    /// step's fence holds and every delivery's row is there: the fences of
    /// [`check_fence`], checked by the server, for a batch expected to pass.
    fn assertions(&self) -> Vec<Statement<'_>> {
        let mut statements: Vec<Statement<'_>> = Vec::new();
        let e = &self.expected;
        if !e.0.is_empty() {
            statements.push((
                "SELECT 1 / (count(*) = cardinality($1::text[]))::int FROM (
                     SELECT r.run_id FROM runs r
                     JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS u (rid, next, token) ON r.run_id = u.rid
                     WHERE r.status = 'running' AND r.next_event_id = u.next
                       AND r.lease_token IS NOT DISTINCT FROM u.token
                     ORDER BY r.run_id FOR UPDATE OF r
                 ) f",
                vec![&e.0, &e.1, &e.2],
            ));
        }
        if !self.activities.0.is_empty() {
            let a = &self.activities;
            statements.push((
                "SELECT 1 / (count(*) = cardinality($1::text[]))::int FROM (
                     SELECT 1 FROM activity_tasks a
                     JOIN unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS d (r, s, n, t)
                         ON a.run_id = d.r AND a.seq = d.s AND a.attempt = d.n AND a.lease_token = d.t
                     FOR UPDATE OF a
                 ) f",
                vec![&a.0, &a.1, &a.2, &a.3],
            ));
        }
        if !self.timers.0.is_empty() {
            statements.push((
                "SELECT 1 / (count(*) = cardinality($1::text[]))::int FROM (
                     SELECT 1 FROM timers t JOIN unnest($1::text[], $2::bigint[]) AS d (r, s)
                         ON t.run_id = d.r AND t.seq = d.s
                     FOR UPDATE OF t
                 ) f",
                vec![&self.timers.0, &self.timers.1],
            ));
        }
        if !self.closing.0.is_empty() {
            // After the runs' locks: an item added meanwhile waited for them.
            statements.push((
                "SELECT 1 / (NOT EXISTS (
                     SELECT 1 FROM inbox WHERE run_id = ANY($1) AND id <> ALL($2)
                 ))::int",
                vec![&self.closing.0, &self.closing.1],
            ));
        }
        statements
    }

    fn statements(&self) -> Vec<Statement<'_>> {
        let mut statements: Vec<Statement<'_>> = Vec::new();
        if !self.creates.is_empty() {
            statements.push((
                "SELECT pg_advisory_xact_lock($1 + 1, h)
                 FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) s",
                vec![&LOCK_CLASS, &self.lock_keys],
            ));
            statements.push((
                "SELECT DISTINCT ON (workflow_id) workflow_id, run_id, status FROM runs WHERE workflow_id = ANY($1)
                 ORDER BY workflow_id, status = 'running' DESC, created_at DESC, created_seq DESC",
                vec![&self.workflow_ids],
            ));
        }
        if !self.runs_locked.is_empty() {
            statements.push((
                "SELECT run_id, next_event_id, status, lease_token FROM runs
                 WHERE run_id = ANY($1) ORDER BY run_id FOR UPDATE",
                vec![&self.runs_locked],
            ));
        }
        if !self.activities.0.is_empty() {
            let a = &self.activities;
            statements.push((
                "SELECT a.run_id FROM activity_tasks a
                 JOIN unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS d (r, s, n, t)
                     ON a.run_id = d.r AND a.seq = d.s AND a.attempt = d.n AND a.lease_token = d.t
                 FOR UPDATE OF a",
                vec![&a.0, &a.1, &a.2, &a.3],
            ));
        }
        if !self.timers.0.is_empty() {
            statements.push((
                "SELECT t.run_id FROM timers t JOIN unnest($1::text[], $2::bigint[]) AS d (r, s)
                     ON t.run_id = d.r AND t.seq = d.s
                 FOR UPDATE OF t",
                vec![&self.timers.0, &self.timers.1],
            ));
        }
        if !self.closing.0.is_empty() {
            statements.push((
                "SELECT DISTINCT run_id FROM inbox WHERE run_id = ANY($1) AND id <> ALL($2)",
                vec![&self.closing.0, &self.closing.1],
            ));
        }
        statements
    }

    /// Decides from the answers (in [`Fences::statements`]' order) which
    /// writes are refused, setting their outcomes.
    fn check(&mut self, writes: &[Write], answers: Vec<Vec<Row>>, outcomes: &mut [Option<Result<bool>>]) -> Result<()> {
        let mut answers = answers.into_iter();
        let mut next = || answers.next().ok_or_else(|| Error::store("a pipelined statement went unanswered"));
        if !self.creates.is_empty() {
            next()?;
            let mut newest: HashMap<String, (String, String)> = HashMap::new();
            for row in &next()? {
                newest.insert(get(row, 0)?, (get(row, 1)?, get(row, 2)?));
            }
            for &i in &self.creates {
                let Write::Create { run, reuse, .. } = &writes[i] else { continue };
                if let Some((run_id, status)) = newest.get(&run.workflow_id)
                    && crate::store::reuse_refuses(*reuse, status)
                {
                    let e = Error::AlreadyStarted { workflow_id: run.workflow_id.clone(), run_id: run_id.clone() };
                    outcomes[i] = Some(Err(e));
                    continue;
                }
                newest.insert(run.workflow_id.clone(), (run.run_id.clone(), RunStatus::Running.as_str().to_owned()));
                let state = RunState { next_event_id: 1, running: true, lease_token: None };
                self.runs.insert(run.run_id.clone(), state);
            }
        }
        if !self.runs_locked.is_empty() {
            for row in &next()? {
                let state = RunState {
                    next_event_id: get::<i64>(row, 1)? as u64,
                    running: get::<String>(row, 2)? == RunStatus::Running.as_str(),
                    lease_token: get(row, 3)?,
                };
                self.runs.insert(get(row, 0)?, state);
            }
        }
        let mut delivered: HashSet<String> = HashSet::new();
        if !self.activities.0.is_empty() {
            for row in &next()? {
                delivered.insert(get(row, 0)?);
            }
        }
        if !self.timers.0.is_empty() {
            for row in &next()? {
                delivered.insert(get(row, 0)?);
            }
        }
        let mut grown: HashSet<String> = HashSet::new();
        if !self.closing.0.is_empty() {
            for row in &next()? {
                grown.insert(get(row, 0)?);
            }
        }
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            let Some(step) = write.step().filter(|_| outcome.is_none()) else { continue };
            let refused = match check_fence(step, self.runs.get(&step.run_id)) {
                Err(e) => Some(e),
                Ok(()) if step.close.is_some() && grown.contains(&step.run_id) => {
                    Some(stale(&step.run_id, "workflow task", INBOX_GREW))
                }
                Ok(()) if delivered.contains(&step.run_id) => None,
                Ok(()) => match &step.delivered {
                    Some(Delivery::ActivityClosed(fence)) => Some(stale(
                        &step.run_id,
                        activity_task_name(fence),
                        "the attempt's row is gone or held by another",
                    )),
                    Some(Delivery::TimerFired { seq }) => {
                        Some(stale(&step.run_id, format!("timer {seq}"), "the timer's row is gone"))
                    }
                    None => None,
                },
            };
            if let Some(e) = refused {
                *outcome = Some(Err(e));
            }
        }
        Ok(())
    }
}

/// The second round trip of a batch: the rows of every write that passed
/// its fences, one array per column; then the notifications and `COMMIT`.
#[derive(Default)]
struct Changes<'w> {
    runs: NewRuns<'w>,
    /// Start items of new runs: run id, item.
    starts: (Vec<&'w str>, Vec<String>),
    delivered_activities: (Vec<&'w str>, Vec<i64>),
    delivered_timers: (Vec<&'w str>, Vec<i64>),
    events: NewEvents<'w>,
    consumed: (Vec<&'w str>, Vec<i64>),
    activities: Option<ActivityColumns>,
    cancel_activities: (Vec<&'w str>, Vec<i64>),
    timers: NewTimers<'w>,
    cancel_timers: (Vec<&'w str>, Vec<i64>),
    /// Replies to requests: run id, request id, reply.
    replies: (Vec<&'w str>, Vec<&'w str>, Vec<String>),
    /// Signals to other workflows: the receiving workflow id, the item.
    signals: (Vec<&'w str>, Vec<String>),
    /// Their outcomes, for senders that stay open: sender run id, initiated
    /// event id, receiving workflow id, the item if nothing receives it.
    signal_outcomes: (Vec<&'w str>, Vec<i64>, Vec<&'w str>, Vec<String>),
    /// The channel that announces new work (the receivers' queues).
    work_channel: &'w str,
    closed: Vec<&'w str>,
    /// Runs closing as continued-as-new, and the runs that continue them
    /// (created after the close, so that the open-id index holds), with their starts.
    continued: (Vec<&'w str>, NewRuns<'w>, (Vec<&'w str>, Vec<String>)),
    children: NewChildren<'w>,
    /// Children whose cancellation their parents request: parent run id, initiated event id.
    child_cancels: (Vec<&'w str>, Vec<i64>),
    /// Closing child runs and what their parents are told (`ChildOutcome` as JSON).
    to_parent: (Vec<&'w str>, Vec<String>),
    /// Closing runs whose open children get their parent close policy.
    closing_parents: Vec<&'w str>,
    /// The inbox items of a child cancellation, and of each parent close policy.
    cancel_item: String,
    terminate_item: String,
    parent_cancel_item: String,
    steps: StepRuns<'w>,
}

/// Children that steps start, by column: created unless their id is taken.
#[derive(Default)]
struct NewChildren<'w> {
    parent: Vec<&'w str>,
    initiated_event_id: Vec<i64>,
    /// Whether the parent hears how the start went (it does unless it closes in the step).
    tell_parent: Vec<bool>,
    runs: NewRuns<'w>,
    start: Vec<String>,
    reuse: Vec<&'static str>,
    policy: Vec<&'static str>,
}

/// The rows of new runs, by column.
#[derive(Default)]
struct NewRuns<'w> {
    run_id: Vec<&'w str>,
    workflow_id: Vec<&'w str>,
    workflow_type: Vec<&'w str>,
    task_queue: Vec<&'w str>,
    created_at: Vec<i64>,
    inbox_count: Vec<i64>,
}

impl<'w> NewRuns<'w> {
    fn push(&mut self, run: &'w RunRecord, inbox_count: i64) {
        self.run_id.push(&run.run_id);
        self.workflow_id.push(&run.workflow_id);
        self.workflow_type.push(&run.workflow_type);
        self.task_queue.push(&run.task_queue);
        self.created_at.push(micros(run.created_at));
        self.inbox_count.push(inbox_count);
    }

    /// The statements that insert these runs and their `starts` (run id, item).
    fn statements<'s>(&'s self, starts: &'s (Vec<&'w str>, Vec<String>), s: &mut Vec<Statement<'s>>) {
        if !self.run_id.is_empty() {
            s.push((
                "INSERT INTO runs (run_id, workflow_id, workflow_type, task_queue, status, created_at,
                     next_event_id, inbox_count)
                 SELECT r, w, t, q, 'running', c, 1, n
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
                     AS u (r, w, t, q, c, n)",
                vec![
                    &self.run_id,
                    &self.workflow_id,
                    &self.workflow_type,
                    &self.task_queue,
                    &self.created_at,
                    &self.inbox_count,
                ],
            ));
        }
        if !starts.0.is_empty() {
            s.push((
                "INSERT INTO inbox (run_id, item) SELECT * FROM unnest($1::text[], $2::text[])",
                vec![&starts.0, &starts.1],
            ));
        }
    }
}

/// New events, by column.
#[derive(Default)]
struct NewEvents<'w> {
    run_id: Vec<&'w str>,
    event_id: Vec<i64>,
    event_type: Vec<&'static str>,
    data: Vec<String>,
    checksum: Vec<i64>,
}

/// New timers, by column (each takes its run's task queue).
#[derive(Default)]
struct NewTimers<'w> {
    run_id: Vec<&'w str>,
    seq: Vec<i64>,
    started_event_id: Vec<i64>,
    fire_at: Vec<i64>,
}

/// The runs that steps end on, by column: where their histories end, who
/// stepped them, and how they closed (if they did).
#[derive(Default)]
struct StepRuns<'w> {
    run_id: Vec<&'w str>,
    next_event_id: Vec<i64>,
    worker: Vec<&'w str>,
    status: Vec<Option<&'static str>>,
    closed_at: Vec<Option<i64>>,
}

impl<'w> Changes<'w> {
    /// The changes of the writes not refused; gathers their notifications on `c`.
    fn of(
        writes: &'w [Write],
        outcomes: &mut [Option<Result<bool>>],
        c: &mut Conn,
        work_channel: &'w str,
    ) -> Result<Changes<'w>> {
        let mut ch = Changes {
            work_channel,
            cancel_item: to_json(&InboxItem::CancelRequested { reason: CHILD_CANCEL_REASON.to_owned() })?,
            terminate_item: to_json(&parent_closed(ParentClosePolicy::Terminate.as_str()))?,
            parent_cancel_item: to_json(&parent_closed(ParentClosePolicy::RequestCancel.as_str()))?,
            ..Changes::default()
        };
        let mut activities = Vec::new();
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            if outcome.is_some() {
                continue;
            }
            if let Write::Create { run, start, .. } = write {
                ch.runs.push(run, i64::from(matches!(start, RunStart::Inbox(_))));
                if let RunStart::Inbox(item) = start {
                    ch.starts.0.push(&run.run_id);
                    ch.starts.1.push(to_json(item)?);
                    c.notify_work(&run.task_queue);
                }
            }
            let Some(step) = write.step() else { continue };
            let run_id = step.run_id.as_str();
            match &step.delivered {
                Some(Delivery::ActivityClosed(fence)) => {
                    ch.delivered_activities.0.push(run_id);
                    ch.delivered_activities.1.push(fence.key.seq as i64);
                }
                Some(Delivery::TimerFired { seq }) => {
                    ch.delivered_timers.0.push(run_id);
                    ch.delivered_timers.1.push(*seq as i64);
                }
                None => {}
            }
            for event in &step.events {
                let json = to_json(event)?;
                ch.events.run_id.push(run_id);
                ch.events.event_id.push(event.event_id as i64);
                ch.events.event_type.push(event.event_type());
                ch.events.checksum.push(checksum(&json));
                ch.events.data.push(json);
            }
            for &id in &step.consumed {
                ch.consumed.0.push(run_id);
                ch.consumed.1.push(id);
            }
            for activity in &step.new_activities {
                if !activity.running {
                    c.notify_work(&activity.task_queue);
                }
            }
            activities.extend(step.new_activities.iter().cloned());
            for &id in &step.cancel_activities {
                ch.cancel_activities.0.push(run_id);
                ch.cancel_activities.1.push(id as i64);
            }
            for timer in &step.new_timers {
                ch.timers.run_id.push(run_id);
                ch.timers.seq.push(timer.seq as i64);
                ch.timers.started_event_id.push(timer.started_event_id as i64);
                ch.timers.fire_at.push(micros(timer.fire_at));
            }
            for &id in &step.cancel_timers {
                ch.cancel_timers.0.push(run_id);
                ch.cancel_timers.1.push(id as i64);
            }
            for signal in &step.signals_out {
                ch.signals.0.push(&signal.workflow_id);
                ch.signals.1.push(to_json(&signal.item())?);
                if step.close.is_none() {
                    ch.signal_outcomes.0.push(run_id);
                    ch.signal_outcomes.1.push(signal.initiated_event_id as i64);
                    ch.signal_outcomes.2.push(&signal.workflow_id);
                    ch.signal_outcomes.3.push(to_json(&signal.outcome(None))?);
                }
            }
            for reply in &step.replies {
                ch.replies.0.push(run_id);
                ch.replies.1.push(&reply.request_id);
                ch.replies.2.push(to_json(&reply.body)?);
            }
            if step.close.is_some() {
                ch.closed.push(run_id);
                c.notify_closed(run_id);
            }
            for child in &step.children_out {
                let k = &mut ch.children;
                k.parent.push(run_id);
                k.initiated_event_id.push(child.initiated_event_id as i64);
                k.tell_parent.push(step.close.is_none());
                k.runs.push(&child.run, 1);
                k.start.push(to_json(&child.start)?);
                k.reuse.push(child.reuse.as_str());
                k.policy.push(child.parent_close_policy.as_str());
                c.notify_work(&child.run.task_queue);
            }
            for &initiated_event_id in &step.cancel_children {
                ch.child_cancels.0.push(run_id);
                ch.child_cancels.1.push(initiated_event_id as i64);
            }
            if let Some((status, _)) = step.close {
                if let Some(outcome) = step.to_parent.as_ref().filter(|_| status != RunStatus::ContinuedAsNew) {
                    ch.to_parent.0.push(run_id);
                    ch.to_parent.1.push(to_json(outcome)?);
                }
                if step.may_have_children {
                    ch.closing_parents.push(run_id);
                }
            }
            if let (Some((RunStatus::ContinuedAsNew, _)), Some(next)) = (step.close, &step.continued) {
                ch.continued.0.push(run_id);
                ch.continued.1.push(&next.run, 1);
                ch.continued.2.0.push(&next.run.run_id);
                ch.continued.2.1.push(to_json(&next.start)?);
                c.notify_work(&next.run.task_queue);
            }
            ch.steps.run_id.push(run_id);
            ch.steps.next_event_id.push((step.first_event_id + step.events.len() as u64) as i64);
            ch.steps.worker.push(&step.worker_id);
            ch.steps.status.push(step.close.map(|(status, _)| status.as_str()));
            ch.steps.closed_at.push(step.close.map(|(_, at)| micros(at)));
        }
        if !activities.is_empty() {
            ch.activities = Some(ActivityColumns::of(&activities)?);
        }
        Ok(ch)
    }

    /// The statements, in the order the old single-step writes ran them:
    /// a closing step's rows go after whatever it added.
    fn statements(&self) -> Vec<Statement<'_>> {
        let mut s: Vec<Statement<'_>> = Vec::new();
        self.runs.statements(&self.starts, &mut s);
        if !self.delivered_activities.0.is_empty() {
            let d = &self.delivered_activities;
            s.push((
                "DELETE FROM activity_tasks a USING unnest($1::text[], $2::bigint[]) AS d (r, s)
                 WHERE a.run_id = d.r AND a.seq = d.s",
                vec![&d.0, &d.1],
            ));
        }
        if !self.delivered_timers.0.is_empty() {
            let d = &self.delivered_timers;
            s.push((
                "DELETE FROM timers t USING unnest($1::text[], $2::bigint[]) AS d (r, s)
                 WHERE t.run_id = d.r AND t.seq = d.s",
                vec![&d.0, &d.1],
            ));
        }
        let e = &self.events;
        if !e.run_id.is_empty() {
            s.push((
                "INSERT INTO events (run_id, event_id, event_type, data, checksum)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])",
                vec![&e.run_id, &e.event_id, &e.event_type, &e.data, &e.checksum],
            ));
        }
        if !self.consumed.0.is_empty() {
            s.push((
                "DELETE FROM inbox i USING unnest($1::text[], $2::bigint[]) AS d (r, id)
                 WHERE i.id = d.id AND i.run_id = d.r",
                vec![&self.consumed.0, &self.consumed.1],
            ));
        }
        if let Some(activities) = &self.activities {
            s.push((INSERT_ACTIVITIES, activities.params()));
        }
        if !self.cancel_activities.0.is_empty() {
            let a = &self.cancel_activities;
            s.push((
                "UPDATE activity_tasks a SET cancel_requested = true FROM unnest($1::text[], $2::bigint[]) AS d (r, e)
                 WHERE a.run_id = d.r AND a.scheduled_event_id = d.e",
                vec![&a.0, &a.1],
            ));
        }
        let t = &self.timers;
        if !t.run_id.is_empty() {
            s.push((
                "INSERT INTO timers (run_id, seq, task_queue, started_event_id, fire_at)
                 SELECT u.r, u.s, r.task_queue, u.e, u.f
                 FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u (r, s, e, f)
                 JOIN runs r ON r.run_id = u.r",
                vec![&t.run_id, &t.seq, &t.started_event_id, &t.fire_at],
            ));
        }
        if !self.cancel_timers.0.is_empty() {
            let t = &self.cancel_timers;
            s.push((
                "DELETE FROM timers t USING unnest($1::text[], $2::bigint[]) AS d (r, e)
                 WHERE t.run_id = d.r AND t.started_event_id = d.e",
                vec![&t.0, &t.1],
            ));
        }
        if !self.replies.0.is_empty() {
            let r = &self.replies;
            s.push((
                "INSERT INTO replies (run_id, request_id, reply)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT (run_id, request_id) DO UPDATE SET reply = excluded.reply",
                vec![&r.0, &r.1, &r.2],
            ));
        }
        if !self.closed.is_empty() {
            s.push(("DELETE FROM activity_tasks WHERE run_id = ANY($1)", vec![&self.closed]));
            s.push(("DELETE FROM timers WHERE run_id = ANY($1)", vec![&self.closed]));
            s.push(("DELETE FROM inbox WHERE run_id = ANY($1)", vec![&self.closed]));
        }
        if !self.continued.0.is_empty() {
            // Closed before the runs that continue them open: one open run per workflow id.
            s.push(("UPDATE runs SET status = 'continued_as_new' WHERE run_id = ANY($1)", vec![&self.continued.0]));
            self.continued.1.statements(&self.continued.2, &mut s);
            s.push((
                "INSERT INTO run_parents (run_id, parent_run_id, initiated_event_id, close_policy)
                 SELECT u.new, p.parent_run_id, p.initiated_event_id, p.close_policy
                 FROM unnest($1::text[], $2::text[]) AS u (old, new) JOIN run_parents p ON p.run_id = u.old",
                vec![&self.continued.0, &self.continued.1.run_id],
            ));
        }
        self.children_statements(&mut s);
        if !self.signals.0.is_empty() {
            // A run that closes in this batch takes no signal (its inbox is gone).
            let sg = &self.signals;
            s.push((
                "INSERT INTO inbox (run_id, item)
                 SELECT r.run_id, u.item FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u (wf, item, n)
                 JOIN runs r ON r.workflow_id = u.wf AND r.status = 'running' AND r.run_id <> ALL($3)
                 ORDER BY u.n",
                vec![&sg.0, &sg.1, &self.closed],
            ));
            s.push((
                "UPDATE runs r SET inbox_count = (SELECT count(*) FROM inbox i WHERE i.run_id = r.run_id)
                 FROM (SELECT run_id FROM runs WHERE workflow_id = ANY($1) AND status = 'running'
                       AND run_id <> ALL($2) ORDER BY run_id FOR UPDATE) t
                 WHERE r.run_id = t.run_id",
                vec![&sg.0, &self.closed],
            ));
            s.push((
                "SELECT pg_notify($1, q) FROM (SELECT DISTINCT task_queue AS q FROM runs
                     WHERE workflow_id = ANY($2) AND status = 'running' AND run_id <> ALL($3)) t",
                vec![&self.work_channel, &sg.0, &self.closed],
            ));
        }
        if !self.signal_outcomes.0.is_empty() {
            let o = &self.signal_outcomes;
            s.push((
                "INSERT INTO inbox (run_id, item)
                 SELECT u.sender, CASE WHEN r.run_id IS NULL THEN u.undelivered ELSE json_build_object(
                     'ExternalSignaled', json_build_object('initiated_event_id', u.e, 'outcome',
                         json_build_object('Ok', r.run_id)))::text END
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
                     AS u (sender, e, wf, undelivered, n)
                 LEFT JOIN runs r ON r.workflow_id = u.wf AND r.status = 'running' AND r.run_id <> ALL($5)
                 ORDER BY u.n",
                vec![&o.0, &o.1, &o.2, &o.3, &self.closed],
            ));
        }
        let u = &self.steps;
        if !u.run_id.is_empty() {
            // The inbox count is recounted: what the step consumed is gone, a
            // closed run's inbox is empty, what arrived meanwhile stays.
            s.push((
                "UPDATE runs r SET next_event_id = u.next, held = NULL, held_at = NULL, lease_owner = NULL,
                     lease_token = NULL, lease_deadline = NULL, sticky_owner = u.worker,
                     status = coalesce(u.status, r.status), closed_at = coalesce(u.closed_at, r.closed_at),
                     inbox_count = (SELECT count(*) FROM inbox i WHERE i.run_id = r.run_id)
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
                     AS u (rid, next, worker, status, closed_at)
                 WHERE r.run_id = u.rid
                 RETURNING r.run_id, r.inbox_count > 0",
                vec![&u.run_id, &u.next_event_id, &u.worker, &u.status, &u.closed_at],
            ));
        }
        s
    }

    /// The statements of children started, cancelled and told of, and of
    /// the parent close policies of closing runs (after the closes' deletes).
    fn children_statements<'s>(&'s self, s: &mut Vec<Statement<'s>>) {
        let k = &self.children;
        if !k.parent.is_empty() {
            let r = &k.runs;
            // Created unless an open run holds the id or the newest run's status refuses it under the policy.
            s.push((
                "INSERT INTO runs (run_id, workflow_id, workflow_type, task_queue, status, created_at,
                     next_event_id, inbox_count)
                 SELECT u.r, u.w, u.t, u.q, 'running', u.c, 1, 1
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
                     WITH ORDINALITY AS u (r, w, t, q, c, reuse, n)
                 WHERE NOT EXISTS (
                     SELECT 1 FROM (SELECT x.status FROM runs x WHERE x.workflow_id = u.w
                         ORDER BY x.status = 'running' DESC, x.created_at DESC, x.created_seq DESC LIMIT 1) l
                     WHERE l.status = 'running' OR u.reuse = 'reject_duplicate'
                         OR (u.reuse = 'allow_duplicate_failed_only' AND l.status = 'completed'))
                 ORDER BY u.n
                 ON CONFLICT (workflow_id) WHERE status = 'running' DO NOTHING",
                vec![&r.run_id, &r.workflow_id, &r.workflow_type, &r.task_queue, &r.created_at, &k.reuse],
            ));
            s.push((
                "INSERT INTO inbox (run_id, item)
                 SELECT u.r, u.item FROM unnest($1::text[], $2::text[]) AS u (r, item) JOIN runs x ON x.run_id = u.r",
                vec![&r.run_id, &k.start],
            ));
            s.push((
                "INSERT INTO run_parents (run_id, parent_run_id, initiated_event_id, close_policy)
                 SELECT u.r, u.p, u.e, u.policy FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])
                     AS u (r, p, e, policy)
                 JOIN runs x ON x.run_id = u.r",
                vec![&r.run_id, &k.parent, &k.initiated_event_id, &k.policy],
            ));
            s.push((
                "INSERT INTO inbox (run_id, item)
                 SELECT u.p, json_build_object('ChildStarted', json_build_object('initiated_event_id', u.e,
                     'outcome', CASE WHEN EXISTS (SELECT 1 FROM runs x WHERE x.run_id = u.r)
                         THEN json_build_object('Ok', u.r)
                         ELSE (SELECT json_build_object('Err', json_build_array(x.run_id, x.status)) FROM runs x
                             WHERE x.workflow_id = u.w
                             ORDER BY x.status = 'running' DESC, x.created_at DESC, x.created_seq DESC LIMIT 1)
                     END))::text
                 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bool[]) WITH ORDINALITY
                     AS u (p, e, r, w, tell, n)
                 WHERE u.tell ORDER BY u.n",
                vec![&k.parent, &k.initiated_event_id, &r.run_id, &r.workflow_id, &k.tell_parent],
            ));
        }
        // Each: items into other open runs' inboxes, their counts, and their queues told.
        if !self.child_cancels.0.is_empty() {
            let c = &self.child_cancels;
            s.push((
                "WITH ins AS (
                     INSERT INTO inbox (run_id, item)
                     SELECT x.run_id, $3 FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u (p, e, n)
                     JOIN run_parents rp ON rp.parent_run_id = u.p AND rp.initiated_event_id = u.e
                     JOIN runs x ON x.run_id = rp.run_id AND x.status = 'running' AND x.run_id <> ALL($4)
                     ORDER BY u.n RETURNING run_id)
                 SELECT pg_notify($5, q) FROM (SELECT DISTINCT x.task_queue AS q FROM runs x
                     WHERE x.run_id IN (SELECT run_id FROM ins)) t",
                vec![&c.0, &c.1, &self.cancel_item, &self.closed, &self.work_channel],
            ));
        }
        if !self.to_parent.0.is_empty() {
            let t = &self.to_parent;
            s.push((
                "WITH ins AS (
                     INSERT INTO inbox (run_id, item)
                     SELECT rp.parent_run_id, json_build_object('ChildClosed', json_build_object(
                         'initiated_event_id', rp.initiated_event_id, 'outcome', u.outcome::json))::text
                     FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u (r, outcome, n)
                     JOIN run_parents rp ON rp.run_id = u.r
                     JOIN runs x ON x.run_id = rp.parent_run_id AND x.status = 'running' AND x.run_id <> ALL($3)
                     ORDER BY u.n RETURNING run_id)
                 SELECT pg_notify($4, q) FROM (SELECT DISTINCT x.task_queue AS q FROM runs x
                     WHERE x.run_id IN (SELECT run_id FROM ins)) t",
                vec![&t.0, &t.1, &self.closed, &self.work_channel],
            ));
        }
        if !self.closing_parents.is_empty() {
            s.push((
                "WITH ins AS (
                     INSERT INTO inbox (run_id, item)
                     SELECT x.run_id, CASE rp.close_policy WHEN 'terminate' THEN $2 ELSE $3 END
                     FROM run_parents rp
                     JOIN runs x ON x.run_id = rp.run_id AND x.status = 'running' AND x.run_id <> ALL($4)
                     WHERE rp.parent_run_id = ANY($1) AND rp.close_policy <> 'abandon'
                     ORDER BY rp.parent_run_id, rp.initiated_event_id RETURNING run_id)
                 SELECT pg_notify($5, q) FROM (SELECT DISTINCT x.task_queue AS q FROM runs x
                     WHERE x.run_id IN (SELECT run_id FROM ins)) t",
                vec![
                    &self.closing_parents,
                    &self.terminate_item,
                    &self.parent_cancel_item,
                    &self.closed,
                    &self.work_channel,
                ],
            ));
        }
        if !self.child_cancels.0.is_empty() || !self.to_parent.0.is_empty() || !self.closing_parents.is_empty() {
            // The runs that got items: their counts, locked in id order.
            s.push((
                "UPDATE runs r SET inbox_count = (SELECT count(*) FROM inbox i WHERE i.run_id = r.run_id)
                 FROM (SELECT x.run_id FROM runs x WHERE x.status = 'running' AND x.run_id <> ALL($1) AND x.run_id IN (
                         SELECT rp.run_id FROM run_parents rp WHERE rp.parent_run_id = ANY($2) OR rp.parent_run_id = ANY($3)
                         UNION SELECT rp.parent_run_id FROM run_parents rp WHERE rp.run_id = ANY($4))
                     ORDER BY x.run_id FOR UPDATE) t
                 WHERE r.run_id = t.run_id",
                vec![&self.closed, &self.child_cancels.0, &self.closing_parents, &self.to_parent.0],
            ));
        }
    }

    /// Sets the outcome of each step written: whether its run is ready again
    /// (from the last answer, the runs' update).
    fn ready(&self, writes: &[Write], answers: Vec<Vec<Row>>, outcomes: &mut [Option<Result<bool>>]) -> Result<()> {
        if self.steps.run_id.is_empty() {
            return Ok(());
        }
        let rows = answers.last().ok_or_else(|| Error::store("a pipelined statement went unanswered"))?;
        let mut ready: HashMap<String, bool> = HashMap::new();
        for row in rows {
            ready.insert(get(row, 0)?, get(row, 1)?);
        }
        for (write, outcome) in writes.iter().zip(outcomes.iter_mut()) {
            if outcome.is_none()
                && let Some(step) = write.step()
            {
                // The transaction has committed: a run that did not answer fails alone.
                let ready = ready.get(&step.run_id).copied();
                *outcome =
                    Some(ready.ok_or_else(|| Error::store(format!("run {} vanished during its commit", step.run_id))));
            }
        }
        Ok(())
    }
}
