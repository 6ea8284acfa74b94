//! The `shiftdesk` binary end to end, on a temporary SQLite file each (and a fresh PostgreSQL
//! database where `SHIFTDESK_TEST_DATABASE_URL` names a server): grids imported from CSV and
//! workbooks and shown back, conflict reports, dry runs, bad files, the decisions on leave
//! and swaps, and the command line beside a running server on the same file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use chrono::{Datelike, Days, NaiveDate};
use predicates::prelude::*;
use serde_json::Value;
use shiftdesk_core::Service;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::ids::{AgentId, EntryId};
use shiftdesk_core::leave::{LeaveApplication, LeaveKind};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::swap::{SwapApplication, SwapKind};
use shiftdesk_core::time::{DateRange, SystemClock};
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

const JANUARY: &str = "2027-01-01";

/// A store for one test, and the binary pointed at it as the admin.
struct Store {
    folder: TempDir,
    url: String,
}

impl Store {
    fn sqlite() -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", folder.path().join("shiftdesk.db").display());
        Self { folder, url }
    }

    fn postgres(url: &str) -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        Self {
            folder,
            url: url.to_owned(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.path().join(name)
    }

    fn database_file(&self) -> PathBuf {
        self.path("shiftdesk.db")
    }

    /// The binary, on this store, acting as `admin`, with output not a terminal.
    fn cli(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shiftdesk"));
        command
            .current_dir(self.folder.path())
            .env("DATABASE_URL", &self.url)
            .env("SHIFTDESK_ADMIN_PASSWORD_FILE", self.path("admin-password"))
            .env_remove("SHIFTDESK_LOG")
            .args(["--as", "admin"]);
        command
    }

    /// Runs `args`, expects success, returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.cli().args(args).output().expect("runs");
        assert!(
            output.status.success(),
            "shiftdesk {args:?} failed ({:?}): {}{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    /// Migrates, adds the shifts early, late and night, and `agents` agents `a000`, `a001`, ….
    fn prepare(&self, agents: usize) {
        self.ok(&["db", "migrate"]);
        self.ok(&[
            "shifts", "add", "early", "--start", "06:00", "--end", "14:00",
        ]);
        self.ok(&[
            "shifts", "add", "late", "--start", "14:00", "--end", "22:00",
        ]);
        self.ok(&[
            "shifts", "add", "night", "--start", "22:00", "--end", "06:00",
        ]);
        let mut csv = String::from("login,display_name,skills\n");
        for agent in 0..agents {
            csv.push_str(&format!("{},Agent {agent},zh\n", login(agent)));
        }
        std::fs::write(self.path("agents.csv"), csv).expect("write agents");
        let said = self.ok(&["agents", "import", "agents.csv"]);
        assert!(said.contains(&format!("created {agents} staff")), "{said}");
    }

    /// The grid `schedule show` prints as CSV, agent by agent.
    fn shown(&self, from: NaiveDate, days: u64) -> BTreeMap<String, Vec<String>> {
        let to = from + Days::new(days - 1);
        let csv = self.ok(&[
            "schedule",
            "show",
            "--from",
            &from.to_string(),
            "--to",
            &to.to_string(),
            "--format",
            "csv",
        ]);
        parse_csv_grid(&csv, from, days)
    }

    /// The service over the SQLite file, as another process of the team would use it.
    async fn service(&self) -> Service {
        let store = SqliteStore::open(&SqliteConfig::new(self.database_file()))
            .await
            .expect("opens");
        Service::new(
            Arc::new(store),
            Arc::new(SilentNotifier),
            Arc::new(SystemClock),
        )
    }
}

fn login(agent: usize) -> String {
    format!("a{agent:03}")
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

/// A month of work for `agents` agents: early, late, night or nothing, and a few runs of
/// leave. No two cells conflict (the team has no minimum rest).
fn planned_grid(agents: usize, days: u64) -> BTreeMap<String, Vec<String>> {
    (0..agents)
        .map(|agent| {
            let cells = (0..days)
                .map(|day| {
                    let day = day as usize;
                    if agent % 40 == 1 && (10..13).contains(&day) {
                        return "L".to_owned();
                    }
                    match (agent * 7 + day * 3) % 5 {
                        1 => "early",
                        2 => "late",
                        3 => "night",
                        _ => "",
                    }
                    .to_owned()
                })
                .collect();
            (login(agent), cells)
        })
        .collect()
}

fn dates(from: NaiveDate, days: u64) -> Vec<NaiveDate> {
    (0..days).map(|day| from + Days::new(day)).collect()
}

fn grid_csv(grid: &BTreeMap<String, Vec<String>>, from: NaiveDate, days: u64) -> String {
    let mut csv = String::from("agent");
    for day in dates(from, days) {
        csv.push_str(&format!(",{day}"));
    }
    csv.push('\n');
    for (login, cells) in grid {
        csv.push_str(login);
        for cell in cells {
            csv.push(',');
            csv.push_str(cell);
        }
        csv.push('\n');
    }
    csv
}

fn parse_csv_grid(csv: &str, from: NaiveDate, days: u64) -> BTreeMap<String, Vec<String>> {
    let mut lines = csv.lines();
    let header: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = std::iter::once("agent".to_owned())
        .chain(dates(from, days).iter().map(ToString::to_string))
        .collect();
    assert_eq!(header, expected);
    lines
        .map(|line| {
            let mut cells = line.split(',').map(str::to_owned);
            let login = cells.next().expect("a login");
            (login, cells.collect())
        })
        .collect()
}

/// The shown grid, without the rows of staff who have nothing planned (the admin).
fn planned_rows(shown: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    shown
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|cell| !cell.is_empty()))
        .collect()
}

fn write_xlsx(path: &Path, grid: &BTreeMap<String, Vec<String>>, from: NaiveDate, days: u64) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet.write_string(0, 0, "agent").expect("cell");
    for (column, day) in dates(from, days).iter().enumerate() {
        let column = u16::try_from(column + 1).expect("column");
        // Half the header as real date cells, half as text, as spreadsheets hold both.
        if column % 2 == 0 {
            let excel = rust_xlsxwriter::ExcelDateTime::from_ymd(
                u16::try_from(day.year()).expect("year"),
                u8::try_from(day.month()).expect("month"),
                u8::try_from(day.day()).expect("day"),
            )
            .expect("date");
            sheet
                .write_datetime_with_format(0, column, &excel, &date_format)
                .expect("cell");
        } else {
            sheet
                .write_string(0, column, day.to_string())
                .expect("cell");
        }
    }
    for (row, (login, cells)) in grid.iter().enumerate() {
        let row = u32::try_from(row + 1).expect("row");
        sheet.write_string(row, 0, login).expect("cell");
        for (column, cell) in cells.iter().enumerate() {
            if !cell.is_empty() {
                let column = u16::try_from(column + 1).expect("column");
                sheet.write_string(row, column, cell).expect("cell");
            }
        }
    }
    workbook.save(path).expect("saves");
}

#[test]
fn a_200_agent_month_imported_from_csv_is_shown_as_the_same_grid() {
    let store = Store::sqlite();
    store.prepare(200);
    let from = date(JANUARY);
    let grid = planned_grid(200, 31);
    std::fs::write(store.path("month.csv"), grid_csv(&grid, from, 31)).expect("write");

    let output = store
        .cli()
        .args(["schedule", "import", "month.csv"])
        .output()
        .expect("runs");

    assert!(output.status.success());
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("200 agents × 31 dates"), "{said}");
    assert!(
        said.contains("filed and approved 5 leave requests (15 days)"),
        "{said}"
    );
    // Piped, the progress bar stays silent.
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(planned_rows(store.shown(from, 31)), grid);
}

#[test]
fn dates_outside_the_asked_range_are_refused_by_column() {
    let store = Store::sqlite();
    store.prepare(2);
    let from = date("2027-01-30");
    let grid = planned_grid(2, 4);
    std::fs::write(store.path("edge.csv"), grid_csv(&grid, from, 4)).expect("write");

    store
        .cli()
        .args([
            "schedule",
            "import",
            "edge.csv",
            "--dates",
            "2027-01-01..2027-01-31",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "row 1, column D: the date 2027-02-01 lies outside --dates 2027-01-01..2027-01-31",
        ))
        .stderr(predicate::str::contains(
            "row 1, column E: the date 2027-02-02 lies outside",
        ))
        .stderr(predicate::str::contains("2 problems found"));
}

#[test]
fn a_staff_row_longer_than_its_header_is_refused_with_nothing_written() {
    let store = Store::sqlite();
    store.prepare(1);
    std::fs::write(
        store.path("comma.csv"),
        "login,display_name,skills\nben2,Okafor, Ben,en\nkim,Kim,en\n",
    )
    .expect("write");
    for dry_run in [true, false] {
        let mut command = store.cli();
        command.args(["agents", "import", "comma.csv"]);
        if dry_run {
            command.arg("--dry-run");
        }
        command.assert().code(2).stderr(predicate::str::contains(
            "row 2, column D: holds \"en\" under no column",
        ));
    }
    let listed = store.ok(&["agents", "list", "--format", "json"]);
    assert!(
        !listed.contains("ben2") && !listed.contains("\"kim\""),
        "{listed}"
    );
}

#[test]
fn importing_staff_again_updates_only_what_changed() {
    let store = Store::sqlite();
    store.prepare(3);
    std::fs::write(
        store.path("changes.csv"),
        "login,role,skills,capacity,active\na000,admin,zh,,\na001,agent,zh billing,8,\n\
         a002,agent,zh,,false\nnew1,agent,,,\n",
    )
    .expect("write");
    std::fs::write(
        store.path("named.csv"),
        "login,display_name,role,skills\na000,Agent 0,admin,zh\nnew1,New One,agent,\n",
    )
    .expect("write");

    // A new login without a display name is refused, and nothing changes.
    store
        .cli()
        .args(["agents", "import", "changes.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "row 5, column A: new1 is a new staff member and needs a display_name",
        ));
    let said = store.ok(&["agents", "import", "named.csv"]);
    assert!(
        said.contains("created 1 staff member(s), updated 1, 0 unchanged"),
        "{said}"
    );
    std::fs::write(
        store.path("changes.csv"),
        "login,role,skills,capacity,active\na000,admin,zh,,\na001,agent,zh billing,8,\n\
         a002,agent,zh,,false\n",
    )
    .expect("write");
    let said = store.ok(&["agents", "import", "changes.csv"]);
    assert!(
        said.contains("created 0 staff member(s), updated 2, 1 unchanged"),
        "{said}"
    );

    let listed: Value =
        serde_json::from_str(&store.ok(&["agents", "list", "--format", "json"])).expect("json");
    let agent = |login: &str| -> Value {
        listed
            .as_array()
            .expect("list")
            .iter()
            .find(|agent| agent["login"] == login)
            .cloned()
            .expect("listed")
    };
    assert_eq!(agent("a000")["role"], "admin");
    assert_eq!(
        agent("a001")["skills"],
        serde_json::json!(["billing", "zh"])
    );
    assert_eq!(agent("a001")["capacity"], 8);
    assert_eq!(agent("a002")["active"], false);
    assert_eq!(agent("new1")["display_name"], "New One");
}

#[test]
fn a_200_agent_month_imported_from_a_workbook_is_shown_as_the_same_grid() {
    let store = Store::sqlite();
    store.prepare(200);
    let from = date(JANUARY);
    let grid = planned_grid(200, 31);
    write_xlsx(&store.path("month.xlsx"), &grid, from, 31);

    store.ok(&["schedule", "import", "month.xlsx"]);

    assert_eq!(planned_rows(store.shown(from, 31)), grid);
}

#[test]
fn a_grid_with_planted_conflicts_reports_exactly_them_and_writes_nothing() {
    let store = Store::sqlite();
    store.prepare(20);
    let from = date(JANUARY);
    // Already planned: a002 works nights on the 5th and 6th, a007 is on leave on the 20th.
    store.ok(&[
        "schedule",
        "assign",
        "--shift",
        "night",
        "--dates",
        "2027-01-05..2027-01-06",
        "--agents",
        "a002",
    ]);
    let mut leave_grid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cells = vec![String::new(); 31];
    cells[19] = "L".to_owned();
    leave_grid.insert("a007".to_owned(), cells);
    std::fs::write(store.path("leave.csv"), grid_csv(&leave_grid, from, 31)).expect("write");
    store.ok(&["schedule", "import", "leave.csv"]);
    let before = store.shown(from, 31);

    // Every agent works early every day, so a007's leave collides.
    let mut grid: BTreeMap<String, Vec<String>> = (0..20)
        .map(|agent| (login(agent), vec!["early".to_owned(); 31]))
        .collect();
    // Nights for a002 on the 5th and 6th, overlapping the nights planned before.
    if let Some(row) = grid.get_mut("a002") {
        row[4] = "night".to_owned();
        row[5] = "night".to_owned();
    }
    std::fs::write(store.path("month.csv"), grid_csv(&grid, from, 31)).expect("write");

    let output = store
        .cli()
        .args(["schedule", "import", "month.csv", "--format", "json"])
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json report");
    let mut found: Vec<(String, String, String, String)> = report["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .map(|row| {
            let text = |key: &str| row[key].as_str().unwrap_or_default().to_owned();
            (text("cell"), text("agent"), text("date"), text("reason"))
        })
        .collect();
    found.sort();
    let expected = vec![
        // a002 is row 4; the 5th is column F, the 6th column G.
        (
            "F4".into(),
            "a002".into(),
            "2027-01-05".into(),
            "overlap".into(),
        ),
        (
            "G4".into(),
            "a002".into(),
            "2027-01-06".into(),
            "overlap".into(),
        ),
        // a007 is row 9; the 20th is column U.
        (
            "U9".into(),
            "a007".into(),
            "2027-01-20".into(),
            "on_leave".into(),
        ),
    ];
    assert_eq!(found, expected);
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing was written"));
    assert_eq!(store.shown(from, 31), before);
}

#[test]
fn dry_runs_check_but_write_nothing() {
    let store = Store::sqlite();
    store.prepare(10);
    let from = date(JANUARY);
    let grid = planned_grid(10, 31);
    std::fs::write(store.path("month.csv"), grid_csv(&grid, from, 31)).expect("write");
    let empty = store.shown(from, 31);

    let said = store.ok(&["schedule", "import", "month.csv", "--dry-run"]);
    assert!(said.contains("would write"), "{said}");
    let said = store.ok(&[
        "schedule",
        "assign",
        "--shift",
        "early",
        "--dates",
        "2027-01-01..2027-01-31",
        "--weekdays",
        "mon-fri",
        "--agents",
        "a001,a002",
        "--dry-run",
    ]);
    assert!(said.contains("would write 42 entries"), "{said}");

    assert_eq!(store.shown(from, 31), empty);
    assert!(planned_rows(empty).is_empty());
}

#[test]
fn assigning_over_conflicts_fails_with_the_table_unless_skipping() {
    let store = Store::sqlite();
    store.prepare(3);
    store.ok(&[
        "schedule",
        "assign",
        "--shift",
        "early",
        "--dates",
        "2027-01-04",
        "--agents",
        "a001",
    ]);
    let assign = [
        "schedule",
        "assign",
        "--shift",
        "early",
        "--dates",
        "2027-01-04..2027-01-05",
        "--agents",
        "a000,a001",
    ];

    store
        .cli()
        .args(assign)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "a001   2027-01-04  early  overlaps other work",
        ))
        .stderr(predicate::str::contains("1 conflict; nothing was written"));
    let skipped = store.ok(&[&assign[..], &["--skip-conflicts"]].concat());

    assert!(skipped.contains("wrote 3 entries"), "{skipped}");
    assert!(skipped.contains("skipped 1 agent-days"), "{skipped}");
}

#[test]
fn a_malformed_grid_names_every_bad_cell_and_writes_nothing() {
    let store = Store::sqlite();
    store.prepare(3);
    let mut bytes = b"agent,2027-01-01,2027-01-02,tomorrow,2027-01-01\n".to_vec();
    bytes.extend_from_slice(b"a000,early,nite,,\n");
    bytes.extend_from_slice(b"zoe,early,,,\n");
    bytes.extend_from_slice(b"a000,late,,,\n");
    bytes.extend_from_slice(b"a001,early+L,\xff\xfe,,\n");
    bytes.extend_from_slice(b"a002,early+late,,,\n");
    std::fs::write(store.path("bad.csv"), bytes).expect("write");

    let output = store
        .cli()
        .args(["schedule", "import", "bad.csv"])
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "row 1, column D: the header \"tomorrow\" is not a date",
        "row 1, column E: the date 2027-01-01 is already column B",
        "row 2, column C (2027-01-02): unknown shift code \"nite\"",
        "row 3, column A: no staff member logs in as \"zoe\"",
        "row 4, column A: the agent a000 already has row 2",
        "row 5, column B (2027-01-01): \"early+L\" puts leave and work on the same day",
        "row 5, column C: is not UTF-8 text",
        "row 6, column B (2027-01-01): \"early+late\" holds several shifts",
        "8 problems found; nothing was written",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(planned_rows(store.shown(date(JANUARY), 2)).is_empty());
}

#[test]
fn workbooks_with_formulas_or_an_empty_sheet_are_refused() {
    let store = Store::sqlite();
    store.prepare(2);
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "agent").expect("cell");
    sheet.write_string(0, 1, "2027-01-01").expect("cell");
    sheet.write_string(1, 0, "a000").expect("cell");
    sheet
        .write_formula(1, 1, "=LOWER(\"EARLY\")")
        .expect("cell");
    workbook.save(store.path("formula.xlsx")).expect("saves");
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook.add_worksheet();
    workbook.save(store.path("empty.xlsx")).expect("saves");

    store
        .cli()
        .args(["schedule", "import", "formula.xlsx"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "row 2, column B: holds the formula =LOWER(\"EARLY\")",
        ));
    store
        .cli()
        .args(["schedule", "import", "empty.xlsx"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is empty"));
    assert!(planned_rows(store.shown(date(JANUARY), 1)).is_empty());
}

#[test]
fn a_malformed_staff_file_names_every_bad_cell_and_creates_no_one() {
    let store = Store::sqlite();
    store.ok(&["db", "migrate"]);
    std::fs::write(
        store.path("staff.csv"),
        "login,display_name,role,capacity,colour\nmei,Mei,boss,0,\nMei Li,,agent,,\nmei,Mei,,,\n",
    )
    .expect("write");

    let output = store
        .cli()
        .args(["agents", "import", "staff.csv"])
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "row 1, column E: unknown column \"colour\"",
        "row 2, column C: role \"boss\" must be agent or admin",
        "row 2, column D: capacity must be between 1 and 1000",
        "row 3, column A: login contains ' '",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    let listed: Value =
        serde_json::from_str(&store.ok(&["agents", "list", "--format", "json"])).expect("json");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "only the admin: {listed}"
    );
}

#[test]
fn only_an_active_admin_may_act() {
    let store = Store::sqlite();
    store.prepare(1);

    for (login, why) in [
        ("nobody", "no staff member has this login"),
        ("a000", "only admins may use this tool"),
        ("Not A Login", "--as Not A Login"),
    ] {
        Command::new(env!("CARGO_BIN_EXE_shiftdesk"))
            .current_dir(store.folder.path())
            .env("DATABASE_URL", &store.url)
            .args(["--as", login, "shifts", "list"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(why));
    }
    Command::new(env!("CARGO_BIN_EXE_shiftdesk"))
        .current_dir(store.folder.path())
        .env("DATABASE_URL", &store.url)
        .env("USER", "admin")
        .args(["shifts", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("night"));
}

#[test]
fn an_unreachable_store_exits_with_3_and_a_bad_url_with_2() {
    let store = Store::sqlite();
    store
        .cli()
        .env("DATABASE_URL", "postgres://shiftdesk@127.0.0.1:1/shiftdesk")
        .args(["agents", "list"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("127.0.0.1:1"));
    store
        .cli()
        .env("DATABASE_URL", "mysql://root@127.0.0.1/x")
        .args(["agents", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--database-url"));
    for command in [&["db", "status"][..], &["agents", "list"][..]] {
        store
            .cli()
            .args(command)
            .assert()
            .code(3)
            .stderr(predicate::str::contains(
                "does not exist; `shiftdesk db migrate`",
            ));
    }
    assert!(!store.database_file().exists(), "no file was created");
}

#[test]
fn db_status_lists_the_applied_migrations() {
    let store = Store::sqlite();
    store.ok(&["db", "migrate"]);

    let status: Value =
        serde_json::from_str(&store.ok(&["db", "status", "--format", "json"])).expect("json");

    let applied = status["applied"].as_array().expect("applied");
    assert!(applied.len() >= 2, "{status}");
    assert_eq!(status["pending"].as_array().map(Vec::len), Some(0));
    assert_eq!(status["version"], applied.last().expect("one")["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_leave_and_swaps_changes_the_grid_as_the_core_decides() {
    let store = Store::sqlite();
    store.prepare(3);
    store.ok(&[
        "schedule",
        "assign",
        "--shift",
        "early",
        "--dates",
        "2027-01-04..2027-01-08",
        "--agents",
        "a000,a001",
    ]);
    let service = store.service().await;
    let admin = Context::new(Actor::System);
    let agents = service.agents(&admin).await.expect("agents");
    let id = |login: &str| -> AgentId {
        agents
            .iter()
            .find(|agent| agent.login.as_str() == login)
            .expect("agent")
            .id
    };
    let (a000, a001, a002) = (id("a000"), id("a001"), id("a002"));
    let january = DateRange::new(date("2027-01-04"), date("2027-01-08")).expect("range");

    // a000 asks for the 5th and 6th off; a001 for the 8th.
    for (agent, first, last) in [
        (a000, "2027-01-05", "2027-01-06"),
        (a001, "2027-01-08", "2027-01-08"),
    ] {
        let application = LeaveApplication {
            agent,
            kind: LeaveKind::Annual,
            dates: DateRange::new(date(first), date(last)).expect("range"),
            reason: None,
        };
        service
            .request_leave(&Context::new(Actor::agent(agent)), application)
            .await
            .expect("filed");
    }
    // a001 asks a002 to cover the 4th, and a002 agrees.
    let entries = service
        .schedule(
            &admin,
            &shiftdesk_core::store::EntryQuery {
                dates: january,
                agents: Some(vec![a001]),
                working_only: true,
            },
        )
        .await
        .expect("schedule");
    let fourth: EntryId = entries
        .iter()
        .find(|entry| entry.date == date("2027-01-04"))
        .expect("entry")
        .id;
    let swap = service
        .request_swap(
            &Context::new(Actor::agent(a001)),
            SwapApplication {
                requester_entry: fourth,
                target: a002,
                kind: SwapKind::Cover,
                note: None,
            },
        )
        .await
        .expect("swap filed");
    service
        .accept_swap(&Context::new(Actor::agent(a002)), swap.id)
        .await
        .expect("accepted");

    let pending: Value =
        serde_json::from_str(&store.ok(&["leave", "list", "--pending", "--format", "json"]))
            .expect("json");
    let pending = pending.as_array().expect("list");
    assert_eq!(pending.len(), 2);
    let leave_of = |login: &str| -> String {
        pending
            .iter()
            .find(|row| row["agent"] == login)
            .expect("request")["id"]
            .to_string()
    };
    let swaps: Value =
        serde_json::from_str(&store.ok(&["swap", "list", "--pending", "--format", "json"]))
            .expect("json");
    assert_eq!(swaps[0]["status"], "accepted", "{swaps}");

    let approved = store.ok(&["leave", "approve", &leave_of("a000")]);
    assert!(approved.contains("2 entries now on leave"), "{approved}");
    store.ok(&["leave", "reject", &leave_of("a001"), "--note", "busy week"]);
    store.ok(&["swap", "approve", &swap.id.to_string()]);

    let shown = store.shown(date("2027-01-04"), 5);
    let row = |cells: &[&str]| {
        cells
            .iter()
            .map(|cell| (*cell).to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(shown["a000"], row(&["early", "L", "L", "early", "early"]));
    assert_eq!(
        shown["a001"],
        row(&["", "early", "early", "early", "early"])
    );
    assert_eq!(shown["a002"], row(&["early", "", "", "", ""]));
    let listed = store.ok(&["leave", "list"]);
    assert!(
        listed.contains("approved") && listed.contains("rejected"),
        "{listed}"
    );
    // Deciding again is refused by the rules: exit 1.
    store
        .cli()
        .args(["leave", "approve", &leave_of("a001")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rejected"));
}

#[test]
fn the_schedule_exports_as_json_and_calendars() {
    let store = Store::sqlite();
    store.prepare(2);
    store.ok(&[
        "schedule",
        "assign",
        "--shift",
        "night",
        "--dates",
        "2027-01-04..2027-01-05",
        "--agents",
        "a000",
    ]);

    let json: Value = serde_json::from_str(&store.ok(&[
        "schedule",
        "show",
        "--from",
        "2027-01-04",
        "--to",
        "2027-01-05",
        "--format",
        "json",
    ]))
    .expect("json");
    let calendar = store.ok(&[
        "schedule",
        "show",
        "--from",
        "2027-01-04",
        "--to",
        "2027-01-05",
        "--format",
        "ics",
    ]);
    store.ok(&[
        "schedule",
        "show",
        "--from",
        "2027-01-04",
        "--to",
        "2027-01-05",
        "--format",
        "ics",
        "--output-dir",
        "calendars",
    ]);
    let table = store.ok(&[
        "schedule",
        "show",
        "--from",
        "2027-01-04",
        "--to",
        "2027-01-05",
    ]);

    let entries = json["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["overnight"], true);
    assert_eq!(entries[0]["start"], "2027-01-04T22:00:00+00:00");
    assert!(calendar.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(calendar.ends_with("END:VCALENDAR\r\n"));
    assert!(
        !calendar.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    let first = entries[0]["id"].as_i64().expect("id");
    assert!(calendar.contains(&format!("UID:entry-{first}@shiftdesk\r\n")));
    assert!(calendar.contains("DTSTART:20270104T220000Z\r\nDTEND:20270105T060000Z\r\n"));
    let own = std::fs::read_to_string(store.path("calendars/a000.ics")).expect("a000.ics");
    assert_eq!(own.matches("BEGIN:VEVENT").count(), 2);
    let other = std::fs::read_to_string(store.path("calendars/a001.ics")).expect("a001.ics");
    assert_eq!(other.matches("BEGIN:VEVENT").count(), 0);
    assert!(table.contains("night*"), "{table}");
}

#[test]
fn conversations_export_writes_the_header_even_when_nothing_matches() {
    let store = Store::sqlite();
    store.prepare(1);

    let csv = store.ok(&[
        "conversations",
        "export",
        "--from",
        "2027-01-01",
        "--to",
        "2027-01-31",
        "--agent",
        "a000",
    ]);
    let lines = store.ok(&[
        "conversations",
        "export",
        "--from",
        "2027-01-01",
        "--to",
        "2027-01-31",
        "--format",
        "jsonl",
    ]);

    assert!(csv.starts_with("conversation_id,"), "{csv}");
    assert_eq!(csv.lines().count(), 1);
    assert!(lines.is_empty());
    store
        .cli()
        .args([
            "conversations",
            "export",
            "--from",
            "2027-01-31",
            "--to",
            "2027-01-01",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--from/--to"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_and_a_server_on_one_file_see_each_others_writes() {
    use shiftdesk_http::auth::bootstrap::first_admin;
    use shiftdesk_http::config::DatabaseUrl;
    use shiftdesk_http::database::open_store;
    use shiftdesk_http::keys::signing_key;
    use shiftdesk_http::{App, Settings, spawn};

    let store = Store::sqlite();
    let url = DatabaseUrl::Sqlite(store.database_file());
    let opened = open_store(&url).await.expect("opens");
    let (key, _) = signing_key(None, &DatabaseUrl::Memory).expect("key");
    let app = App::new(opened, key);
    let password_file = store.path("admin-password");
    first_admin(app.service(), &password_file)
        .await
        .expect("first admin");
    let password = std::fs::read_to_string(&password_file).expect("password");
    let server = spawn(app, Settings::new("127.0.0.1:0".parse().expect("address")))
        .await
        .expect("serves");
    let base = format!("http://{}", server.local_addr());
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "login": "admin", "password": password.trim() }))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();

    // The command line writes; the server reads it.
    let cli = Store {
        folder: tempfile::tempdir().expect("temp dir"),
        url: format!("sqlite://{}", store.database_file().display()),
    };
    cli.ok(&[
        "shifts", "add", "early", "--start", "06:00", "--end", "14:00",
    ]);
    std::fs::write(cli.path("agents.csv"), "login,display_name\nmei,Mei\n").expect("write");
    cli.ok(&["agents", "import", "agents.csv"]);
    cli.ok(&[
        "schedule",
        "assign",
        "--shift",
        "early",
        "--dates",
        "2027-02-01..2027-02-03",
        "--agents",
        "mei",
    ]);
    let schedule: Value = client
        .get(format!(
            "{base}/api/v1/schedule?from=2027-02-01&to=2027-02-28"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let entries = schedule
        .as_array()
        .or_else(|| schedule["entries"].as_array())
        .expect("entries");
    assert_eq!(entries.len(), 3, "{schedule}");

    // The server writes; the command line reads it.
    let shift = entries[0]["shift"].clone();
    let agent = entries[0]["agent"].clone();
    let response = client
        .post(format!("{base}/api/v1/schedule/assignments"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "shift": shift,
            "dates": { "first": "2027-02-04", "last": "2027-02-05" },
            "agents": [agent],
        }))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status().as_u16(), 201);
    let shown = cli.shown(date("2027-02-01"), 5);
    assert_eq!(shown["mei"], vec!["early".to_owned(); 5]);

    server.shut_down().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_imports_into_postgres_and_shows_back() {
    let Some(database) = shiftdesk_store_postgres::testing::fresh_database_url().await else {
        return;
    };
    let store = Store::postgres(database.url());
    store.prepare(30);
    let from = date(JANUARY);
    let grid = planned_grid(30, 31);
    std::fs::write(store.path("month.csv"), grid_csv(&grid, from, 31)).expect("write");

    store.ok(&["schedule", "import", "month.csv"]);

    assert_eq!(planned_rows(store.shown(from, 31)), grid);
    store
        .cli()
        .args(["schedule", "import", "month.csv"])
        .assert()
        .code(1);
}

#[test]
fn the_demo_fills_an_empty_store_once_with_a_working_team() {
    let store = Store::sqlite();
    store.ok(&["db", "migrate"]);
    let said = store.ok(&[
        "demo",
        "--agents",
        "60",
        "--conversations",
        "12",
        "--from",
        "2027-03-01",
    ]);
    assert!(said.contains("60 agents, 4 shift templates"), "{said}");
    assert!(said.contains("12 conversations"), "{said}");

    // Every agent works five days of each week, the night crossing midnight.
    let shown = store.ok(&[
        "schedule",
        "show",
        "--from",
        "2027-03-01",
        "--to",
        "2027-03-07",
        "--format",
        "json",
    ]);
    let shown: Value = serde_json::from_str(&shown).expect("json");
    let entries = shown["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 60 * 5, "{shown}");
    let shifts = store.ok(&["shifts", "list", "--format", "json"]);
    assert!(shifts.contains("night"), "{shifts}");

    let pending = store.ok(&["leave", "list", "--pending", "--format", "json"]);
    let pending: Value = serde_json::from_str(&pending).expect("json");
    assert!(!pending.as_array().expect("list").is_empty(), "{pending}");
    let swaps = store.ok(&["swap", "list", "--pending", "--format", "json"]);
    let swaps: Value = serde_json::from_str(&swaps).expect("json");
    assert!(!swaps.as_array().expect("list").is_empty(), "{swaps}");

    // The history lies in the four weeks before today.
    let today = chrono::Utc::now().date_naive();
    let (from, to) = ((today - Days::new(30)).to_string(), today.to_string());
    let export = store.ok(&[
        "conversations",
        "export",
        "--from",
        &from,
        "--to",
        &to,
        "--format",
        "jsonl",
    ]);
    let conversations: Vec<Value> = export
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(conversations.len(), 12);
    assert!(
        conversations
            .iter()
            .all(|c| c["messages"].as_array().is_some_and(|m| m.len() >= 2)),
        "every conversation holds its dialog"
    );

    // A second run finds the team and writes nothing.
    store
        .cli()
        .args(["demo", "--agents", "10"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already holds data"));
}
