//! The command line, as clap parses it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Inspect and steer the workflows in a weft store.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about)]
pub(crate) struct Cli {
    /// The store: a file (the path given to `Engine::builder().sqlite(..)`),
    /// or a PostgreSQL URL (`postgres://user:password@host/database`).
    #[arg(long, env = "WEFT_DB", global = true, default_value = "weft.db")]
    pub(crate) db: PathBuf,

    /// How long `cancel`, `terminate`, `signal`, `query` and `update` wait for the store's write lock
    /// (held by the engine while it commits) before they fail: `5s`, `500ms`.
    #[arg(long, global = true, default_value = "5s", value_parser = humantime::parse_duration)]
    pub(crate) busy_timeout: Duration,

    /// `table` for people, `json` for scripts.
    #[arg(long, short, value_enum, global = true, default_value_t = Output::Table)]
    pub(crate) output: Output,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Workflows: list, show, describe, history, export, cancel, terminate, signal, query, update.
    #[command(subcommand)]
    Workflow(Workflow),
    /// Workers: list.
    #[command(subcommand)]
    Worker(Worker),
    /// Serves a web view of the store: the workflows, and each run's history and timeline.
    Ui(Ui),
}

/// `weft ui`.
#[derive(Debug, clap::Args)]
pub(crate) struct Ui {
    /// The address to serve on. Any address but loopback needs `--token`.
    #[arg(long, default_value = "127.0.0.1:8233")]
    pub(crate) bind: std::net::SocketAddr,
    /// A token every request must carry (`?token=` once, or `Authorization: Bearer`).
    #[arg(long, env = "WEFT_UI_TOKEN")]
    pub(crate) token: Option<String>,
    /// No cancel or terminate.
    #[arg(long)]
    pub(crate) read_only: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Worker {
    /// The workers registered with the store: where they run, what they poll, whether they are live.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Workflow {
    /// Runs, newest first.
    List {
        /// Only runs with this status.
        #[arg(long, value_enum)]
        status: Option<Status>,
        /// Only runs of this workflow type.
        #[arg(long = "type")]
        workflow_type: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The event history of a workflow's newest run, one event a line.
    Show {
        /// The workflow id.
        workflow_id: String,
    },
    /// Status, result or failure, pending activities and timers.
    Describe {
        /// The workflow id.
        workflow_id: String,
    },
    /// The full history (`--output json` gives the format the Replayer reads).
    History {
        /// The workflow id.
        workflow_id: String,
    },
    /// Writes every run's history to DIR/<workflow id>.json.
    Export {
        /// The folder to write to (created if missing).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Requests cancellation of a workflow's open run.
    Cancel {
        /// The workflow id.
        workflow_id: String,
        /// Why, recorded in the history.
        #[arg(long, default_value = "cancelled with the weft command")]
        reason: String,
    },
    /// Ends a workflow's open run at once, without running its code.
    Terminate {
        /// The workflow id.
        workflow_id: String,
        /// Why, recorded in the history.
        #[arg(long)]
        reason: String,
    },
    /// Sends a signal to a workflow's open run (recorded as `WorkflowExecutionSignaled`).
    Signal {
        /// The workflow id.
        workflow_id: String,
        /// The signal's registered name.
        name: String,
        /// The signal's input, as JSON (`'{"by":"ann"}'`, `'"text"'`, `42`).
        #[arg(long, value_name = "JSON", default_value = "null")]
        input: String,
    },
    /// Asks a workflow's open run a query and prints the answer, as JSON.
    Query {
        /// The workflow id.
        workflow_id: String,
        /// The query's registered name.
        name: String,
        /// The query's input, as JSON.
        #[arg(long, value_name = "JSON", default_value = "null")]
        input: String,
        /// How long to wait for the engine running the workflow to answer.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// Sends an update to a workflow's open run, waits for it and prints its result, as JSON.
    Update {
        /// The workflow id.
        workflow_id: String,
        /// The update's registered name.
        name: String,
        /// The update's input, as JSON.
        #[arg(long, value_name = "JSON", default_value = "null")]
        input: String,
        /// The update id: a call repeated with the same id returns the first
        /// call's outcome and runs nothing again. Default: a new id.
        #[arg(long, value_name = "ID")]
        update_id: Option<String>,
        /// How long to wait for the update's outcome.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Status {
    Running,
    Completed,
    Failed,
    Canceled,
    Terminated,
    ContinuedAsNew,
    TimedOut,
}

impl From<Status> for weft::RunStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Running => weft::RunStatus::Running,
            Status::Completed => weft::RunStatus::Completed,
            Status::Failed => weft::RunStatus::Failed,
            Status::Canceled => weft::RunStatus::Canceled,
            Status::Terminated => weft::RunStatus::Terminated,
            Status::ContinuedAsNew => weft::RunStatus::ContinuedAsNew,
            Status::TimedOut => weft::RunStatus::TimedOut,
        }
    }
}
