//! The commands and their flags.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use shiftdesk_http::config::DEFAULT_DATABASE_URL;

/// Plan and run a Shiftdesk team from the command line.
///
/// Exit codes: 0 done; 1 conflicts or a refusal (nothing written); 2 bad input (a flag, a
/// file, a cell, an unknown name or id, a login that is not an active admin); 3 the store
/// cannot be used.
#[derive(Debug, Parser)]
#[command(name = "shiftdesk", version)]
pub(crate) struct Args {
    /// The store: `sqlite://FILE` (the server's default file), or a `postgres://` URL.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub(crate) database_url: String,

    /// The admin whose name every change is audited under; by default the operating-system
    /// user (`USER`).
    #[arg(long = "as", value_name = "LOGIN", global = true)]
    pub(crate) acting_admin: Option<String>,

    /// Which log lines to write to standard error, as a tracing filter. Slow statements are
    /// left out by default: a bulk import is meant to be one long statement.
    #[arg(
        long,
        env = "SHIFTDESK_LOG",
        default_value = "warn,sqlx::query=error",
        global = true
    )]
    pub(crate) log_level: String,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The command families.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The database schema.
    #[command(subcommand)]
    Db(DbCommand),
    /// Staff members.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Shift templates.
    #[command(subcommand)]
    Shifts(ShiftsCommand),
    /// The schedule: assigning, importing a grid, showing it.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Leave requests.
    #[command(subcommand)]
    Leave(RequestCommand),
    /// Swap requests.
    #[command(subcommand)]
    Swap(RequestCommand),
    /// Customer conversations.
    #[command(subcommand)]
    Conversations(ConversationsCommand),
    /// Fill an empty store with a demo team: agents, shifts, a month's schedule, leave and swap
    /// requests, canned replies, and conversations replayed from real multilingual dialogs.
    Demo(DemoArgs),
}

/// `demo`
#[derive(Debug, ClapArgs)]
pub(crate) struct DemoArgs {
    /// How many agents.
    #[arg(long, default_value_t = 1000)]
    pub(crate) agents: u32,
    /// How many weeks of schedule, from `--from`.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) weeks: u8,
    /// The first day of the schedule (`YYYY-MM-DD`); by default the next Monday.
    #[arg(long)]
    pub(crate) from: Option<chrono::NaiveDate>,
    /// How many past conversations, spread over the last four weeks.
    #[arg(long, default_value_t = 500)]
    pub(crate) conversations: u32,
    /// Add to a store that already holds data (the demo's own names must still be free).
    #[arg(long)]
    pub(crate) force: bool,
}

/// How a listing is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ListFormat {
    /// Aligned columns for a person.
    #[default]
    Table,
    /// JSON for scripts.
    Json,
}

/// `db …`
#[derive(Debug, Subcommand)]
pub(crate) enum DbCommand {
    /// Apply pending migrations and, on a database without staff, create the first admin
    /// `admin` with its password in a file only its owner can read, as the server does.
    Migrate {
        /// Where the first admin's password goes; by default beside a SQLite file as
        /// `FILE.admin-password`, else `shiftdesk-admin-password` here.
        #[arg(long, env = "SHIFTDESK_ADMIN_PASSWORD_FILE")]
        admin_password_file: Option<PathBuf>,
    },
    /// Print the applied and pending migrations and the schema version.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
}

/// `agents …`
#[derive(Debug, Subcommand)]
pub(crate) enum AgentsCommand {
    /// Create or update staff members from a CSV file with a header row: `login` and any of
    /// `display_name`, `role` (agent|admin), `skills` (separated by spaces or `;`),
    /// `capacity` (1–1000, blank for the team default), `active` (true|false).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Check the file and print what would change, but write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List every staff member.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
}

/// `shifts …`
#[derive(Debug, Subcommand)]
pub(crate) enum ShiftsCommand {
    /// Add a shift template; an end at or before the start ends the next day.
    Add {
        /// Its name, the code used in grids.
        name: String,
        /// Local start time, `HH:MM`.
        #[arg(long)]
        start: String,
        /// Local end time, `HH:MM`.
        #[arg(long)]
        end: String,
        /// A skill every agent on it must hold.
        #[arg(long)]
        skill: Option<String>,
    },
    /// List the shift templates.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Remove a shift template that no entry follows.
    Remove {
        /// Its name.
        name: String,
    },
}

/// How a schedule is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ShowFormat {
    /// The agents × days grid for a terminal.
    #[default]
    Table,
    /// The grid as CSV, in the form `schedule import` reads.
    Csv,
    /// Every entry as JSON.
    Json,
    /// An iCalendar file (RFC 5545): one combined, or one per agent with `--output-dir`.
    Ics,
}

/// `schedule …`
#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleCommand {
    /// Put one shift on many agents over many dates, all or nothing unless skipping.
    Assign(AssignArgs),
    /// Import the grid an admin keeps in a spreadsheet (CSV or .xlsx), all or nothing.
    Import(ImportArgs),
    /// Show the schedule as the agents × days grid, or export it.
    Show(ShowArgs),
}

/// `schedule assign`
#[derive(Debug, ClapArgs)]
pub(crate) struct AssignArgs {
    /// The shift template's name.
    #[arg(long)]
    pub(crate) shift: String,
    /// The dates, `FIRST..LAST` or one date (`YYYY-MM-DD`).
    #[arg(long)]
    pub(crate) dates: String,
    /// Only these days of the week: `mon-fri`, `sat,sun`, `mon,wed-fri`.
    #[arg(long)]
    pub(crate) weekdays: Option<String>,
    /// The agents' logins, separated by commas.
    #[arg(
        long,
        conflicts_with = "agents_file",
        required_unless_present = "agents_file"
    )]
    pub(crate) agents: Option<String>,
    /// A file with one login per line (blank lines and `#` comments ignored).
    #[arg(long)]
    pub(crate) agents_file: Option<PathBuf>,
    /// Write the agent-days without conflicts and report those skipped.
    #[arg(long)]
    pub(crate) skip_conflicts: bool,
    /// Check and report, but write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

/// `schedule import`
#[derive(Debug, ClapArgs)]
pub(crate) struct ImportArgs {
    /// The grid: `.csv`, or an `.xlsx` workbook (its first sheet unless `--sheet`).
    pub(crate) file: PathBuf,
    /// The workbook's sheet to read.
    #[arg(long)]
    pub(crate) sheet: Option<String>,
    /// Refuse date columns outside `FIRST..LAST`.
    #[arg(long)]
    pub(crate) dates: Option<String>,
    /// Check everything and report, but write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ListFormat,
}

/// `schedule show`
#[derive(Debug, ClapArgs)]
pub(crate) struct ShowArgs {
    /// The first date, `YYYY-MM-DD`.
    #[arg(long)]
    pub(crate) from: String,
    /// The last date, `YYYY-MM-DD` (at most 366 days after `--from`).
    #[arg(long)]
    pub(crate) to: String,
    /// Only these agents' logins, separated by commas.
    #[arg(long)]
    pub(crate) agents: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ShowFormat,
    /// With `--format ics`: write one `LOGIN.ics` per agent into this folder.
    #[arg(long)]
    pub(crate) output_dir: Option<PathBuf>,
}

/// `leave …` and `swap …`
#[derive(Debug, Subcommand)]
pub(crate) enum RequestCommand {
    /// List requests.
    List {
        /// Only those waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Approve a request; the schedule changes in the same step.
    Approve {
        /// The request's id.
        id: String,
    },
    /// Reject a request.
    Reject {
        /// The request's id.
        id: String,
        /// Why, for the requester.
        #[arg(long)]
        note: Option<String>,
    },
}

/// Conversation export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormatArg {
    /// One row per message, with a header row.
    Csv,
    /// One JSON object per conversation.
    Jsonl,
}

/// `conversations …`
#[derive(Debug, Subcommand)]
pub(crate) enum ConversationsCommand {
    /// Write the conversations opened between two dates (the team's time zone), with their
    /// messages, to standard output.
    Export {
        /// The first date, `YYYY-MM-DD`.
        #[arg(long)]
        from: String,
        /// The last date, `YYYY-MM-DD`.
        #[arg(long)]
        to: String,
        /// Only those held by this agent (login).
        #[arg(long)]
        agent: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormatArg::Csv)]
        format: ExportFormatArg,
    },
}
