//! `weft`: inspect and steer the workflows in a weft store.
//!
//! ```text
//! weft --db app.weft.db workflow list
//! weft --db app.weft.db workflow show ORDER-17
//! weft --db app.weft.db workflow history ORDER-17 --output json > order-17.json
//! weft --db postgres://weft@db.internal/weft workflow list
//! weft --db app.weft.db ui
//! ```

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e),
    };
    let result = runtime.block_on(async {
        let inspector = open(&cli).await.map_err(commands::CliError::from)?;
        match cli.command {
            args::Command::Workflow(command) => commands::run(&inspector, cli.output, command).await,
            args::Command::Worker(args::Worker::List) => commands::workers(&inspector, cli.output).await,
            args::Command::Ui(ui) => commands::ui(inspector, ui).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Opens the store `--db` names: a PostgreSQL URL, or a file.
async fn open(cli: &args::Cli) -> weft::Result<weft::inspect::Inspector> {
    let db = cli.db.to_string_lossy();
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return weft::inspect::Inspector::connect_postgres(&db).await;
    }
    weft::inspect::Inspector::open_with_busy_timeout(&cli.db, cli.busy_timeout)
}

/// One line on stderr: the error and its causes.
fn fail(error: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("weft: {}", weft::ErrorChain(error));
    ExitCode::FAILURE
}
