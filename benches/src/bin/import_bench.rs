//! The admin command line importing a month's grid, timed from the command line as an admin
//! would run it, against a baseline of the same binary showing that month, in the same run.
//!
//! ```text
//! cargo build --release -p shiftdesk-cli
//! SHIFTDESK_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p shiftdesk-benches --bin shiftdesk-import-bench -- [--quick] [NAME…]
//! ```
//!
//! NAME is `sqlite` or `postgres` (both when none is given; `postgres` only when
//! `SHIFTDESK_BENCH_DATABASE_URL` is set, in which case it creates and drops its own database
//! `shiftdesk_import_bench`). The `shiftdesk` binary is the one beside this one (build it in
//! the same profile first), or the one `SHIFTDESK_BIN` names.
//!
//! Each round generates a 1,000-agent × 31-day grid (31,000 cells: early, late, night, a
//! blank now and then) for the next 31 days not yet planned, runs `shiftdesk schedule import`
//! on it, then `shiftdesk schedule show --format csv` over the same 31 days as the baseline:
//! the same process start, store opening and staff reading, and the month read back instead
//! of checked and written. Figures are medians of the rounds. `--quick` runs two rounds of
//! a 200-agent grid, for a smoke test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use shiftdesk_benches::runs::{Args, Report, ms};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The database the PostgreSQL run creates, and drops at the end.
const PG_DATABASE: &str = "shiftdesk_import_bench";

/// How long a grid is.
const DAYS: u64 = 31;

/// Sizes of a run.
struct Plan {
    agents: usize,
    rounds: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::from_env();
    let plan = if args.quick {
        Plan {
            agents: 200,
            rounds: 2,
        }
    } else {
        Plan {
            agents: 1_000,
            rounds: 7,
        }
    };
    let binary = binary();
    let folder = tempfile::tempdir().unwrap_or_else(|error| fail(&format!("temp folder: {error}")));
    let mut report = Report::default();

    if args.runs("sqlite") {
        let url = format!("sqlite://{}", folder.path().join("import.db").display());
        run(&binary, &url, folder.path(), &plan, "SQLite", &mut report);
    }
    if args.runs("postgres") {
        match std::env::var("SHIFTDESK_BENCH_DATABASE_URL") {
            Ok(server) => {
                let admin: PgConnectOptions = server.parse().unwrap_or_else(|error| {
                    fail(&format!(
                        "SHIFTDESK_BENCH_DATABASE_URL is not valid: {error}"
                    ))
                });
                recreate(&admin, true).await;
                let url = with_database(&server, PG_DATABASE);
                run(
                    &binary,
                    &url,
                    folder.path(),
                    &plan,
                    "PostgreSQL",
                    &mut report,
                );
                recreate(&admin, false).await;
            }
            Err(_) => eprintln!(
                "SHIFTDESK_BENCH_DATABASE_URL is not set: the PostgreSQL import is not measured"
            ),
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}

/// The `shiftdesk` binary: `SHIFTDESK_BIN`, else the one beside this benchmark.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHIFTDESK_BIN") {
        return PathBuf::from(path);
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|folder| folder.join("shiftdesk")));
    match beside {
        Some(path) if path.exists() => path,
        _ => fail(
            "no shiftdesk binary beside this benchmark: run `cargo build --release -p \
             shiftdesk-cli` first, or set SHIFTDESK_BIN",
        ),
    }
}

/// Runs `shiftdesk ARGS` on `url` and returns how long it took; a failure ends the benchmark.
fn shiftdesk(binary: &Path, url: &str, folder: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let output = Command::new(binary)
        .current_dir(folder)
        .env("DATABASE_URL", url)
        .env(
            "SHIFTDESK_ADMIN_PASSWORD_FILE",
            folder.join("admin-password"),
        )
        .args(["--as", "admin"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|error| fail(&format!("cannot run {}: {error}", binary.display())));
    let took = started.elapsed();
    if !output.status.success() {
        fail(&format!(
            "shiftdesk {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    took
}

fn run(binary: &Path, url: &str, folder: &Path, plan: &Plan, store: &str, report: &mut Report) {
    // The team: three shifts and the agents, set up through the same binary, not timed.
    shiftdesk(binary, url, folder, &["db", "migrate"]);
    for (name, start, end) in [
        ("early", "06:00", "14:00"),
        ("late", "14:00", "22:00"),
        ("night", "22:00", "06:00"),
    ] {
        shiftdesk(
            binary,
            url,
            folder,
            &["shifts", "add", name, "--start", start, "--end", end],
        );
    }
    let mut staff = String::from("login,display_name\n");
    for agent in 0..plan.agents {
        staff.push_str(&format!("agent{agent:04},Agent {agent}\n"));
    }
    let staff_file = folder.join("staff.csv");
    write(&staff_file, &staff);
    shiftdesk(
        binary,
        url,
        folder,
        &["agents", "import", &path_text(&staff_file)],
    );

    let first = NaiveDate::from_ymd_opt(2031, 1, 1).unwrap_or_else(|| fail("a date"));
    let mut imports = Vec::with_capacity(plan.rounds);
    let mut shows = Vec::with_capacity(plan.rounds);
    for round in 0..plan.rounds {
        let from = first + Days::new(DAYS * round as u64);
        let to = from + Days::new(DAYS - 1);
        let grid_file = folder.join(format!("grid-{round}.csv"));
        write(&grid_file, &grid(plan.agents, from));
        imports.push(shiftdesk(
            binary,
            url,
            folder,
            &["schedule", "import", &path_text(&grid_file)],
        ));
        shows.push(shiftdesk(
            binary,
            url,
            folder,
            &[
                "schedule",
                "show",
                "--from",
                &from.to_string(),
                "--to",
                &to.to_string(),
                "--format",
                "csv",
            ],
        ));
    }
    let (import, show) = (median(imports), median(shows));
    report.line(
        &format!("{store}: import {} agents × {DAYS} days (CLI)", plan.agents),
        format!("{:.0} ms", ms(import)),
        format!("show: {:.0} ms", ms(show)),
        import.as_secs_f64() / show.as_secs_f64(),
    );
}

/// A grid without conflicts: each agent works early, late or night, with a blank now and
/// then, in a pattern that never puts two shifts of one agent over each other.
fn grid(agents: usize, from: NaiveDate) -> String {
    let mut csv = String::from("agent");
    for day in 0..DAYS {
        csv.push_str(&format!(",{}", from + Days::new(day)));
    }
    csv.push('\n');
    for agent in 0..agents {
        csv.push_str(&format!("agent{agent:04}"));
        for day in 0..DAYS as usize {
            let code = match (agent + day * 3) % 7 {
                0 => "",
                1 | 2 => "early",
                3 | 4 => "late",
                _ => "night",
            };
            csv.push(',');
            csv.push_str(code);
        }
        csv.push('\n');
    }
    csv
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text)
        .unwrap_or_else(|error| fail(&format!("cannot write {}: {error}", path.display())));
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Drops the bench database, and creates it empty again if `create`.
async fn recreate(admin: &PgConnectOptions, create: bool) {
    let mut connection = PgConnection::connect_with(admin)
        .await
        .unwrap_or_else(|error| fail(&format!("the PostgreSQL server does not answer: {error}")));
    let drop = format!("DROP DATABASE IF EXISTS \"{PG_DATABASE}\" WITH (FORCE)");
    sqlx::query(&drop)
        .execute(&mut connection)
        .await
        .unwrap_or_else(|error| fail(&format!("cannot drop {PG_DATABASE}: {error}")));
    if create {
        let sql = format!("CREATE DATABASE \"{PG_DATABASE}\"");
        sqlx::query(&sql)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| fail(&format!("cannot create {PG_DATABASE}: {error}")));
    }
    let _ = connection.close().await;
}

/// The server URL with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (without_query, query) = url.split_once('?').unwrap_or((url, ""));
    let host_start = without_query.find("://").map_or(0, |at| at + 3);
    let host_end = without_query[host_start..]
        .find('/')
        .map_or(without_query.len(), |at| host_start + at);
    let mut replaced = format!("{}/{database}", &without_query[..host_end]);
    if !query.is_empty() {
        replaced.push('?');
        replaced.push_str(query);
    }
    replaced
}
