//! `shiftdesk`, the admin command line: plans a month of shifts in one command over the same
//! store the server uses, through the same `core` service, so every change is checked by the
//! same rules and audited under the admin's name.
//!
//! Map, from the command line inwards:
//! - [`cli`]: the commands and flags (clap).
//! - [`failure`]: what can go wrong, and the exit code each failure ends with.
//! - [`session`]: opening the store named by `--database-url` and finding the acting admin.
//! - [`db`], [`agents`], [`shifts`], [`schedule`], [`requests`], [`conversations`], [`demo`]:
//!   one module per command family; each parses its input into `core` types, calls the service, and
//!   prints the answer.
//! - [`grid`]: reading the agents × days grid from CSV or an `.xlsx` workbook, every bad
//!   cell reported with its row and column.
//! - [`render`]: tables, CSV and JSON for listings; [`ics`]: calendar files.
//! - [`progress`]: a progress bar on a terminal, nothing when piped.
//!
//! Dependencies point into `core`, the store crates and `shiftdesk-http` (for parsing the
//! database URL and opening the store exactly as the server does); nothing depends on this
//! crate.

mod agents;
mod cli;
mod conversations;
mod db;
mod demo;
mod failure;
mod grid;
mod ics;
mod progress;
mod render;
mod requests;
mod schedule;
mod session;
mod shifts;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Args, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::from(failure::exit::FAILED);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// Log lines go to standard error, so that standard output holds only the answer.
fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(args: Args) -> Result<(), Failure> {
    let url = session::database_url(&args.database_url)?;
    match args.command {
        Command::Db(command) => db::run(&url, command).await,
        command => {
            let session = session::Session::open(&url, args.acting_admin.as_deref()).await?;
            match command {
                Command::Agents(command) => agents::run(&session, command).await,
                Command::Shifts(command) => shifts::run(&session, command).await,
                Command::Schedule(command) => schedule::run(&session, command).await,
                Command::Leave(command) => requests::leave(&session, command).await,
                Command::Swap(command) => requests::swap(&session, command).await,
                Command::Conversations(command) => conversations::run(&session, command).await,
                Command::Demo(args) => demo::run(&session, args).await,
                Command::Db(_) => Ok(()),
            }
        }
    }
}
