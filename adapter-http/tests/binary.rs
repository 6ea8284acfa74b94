//! The `shiftdesk-server` binary: its exit codes and its stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_shiftdesk-server");

/// Runs the server with `args` and a clean environment for its settings.
fn server(args: &[&str]) -> Command {
    let mut command = Command::new(SERVER);
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("SHIFTDESK_BIND")
        .env_remove("SHIFTDESK_LOG")
        .env_remove("SHIFTDESK_LOG_FORMAT")
        .env_remove("SHIFTDESK_JWT_KEY_FILE")
        .env_remove("SHIFTDESK_TOKEN_TTL")
        .env_remove("SHIFTDESK_CUSTOMER_SECRET_FILE")
        .env_remove("SHIFTDESK_ANONYMOUS_CUSTOMERS")
        .env_remove("SHIFTDESK_ADMIN_PASSWORD_FILE")
        .stdin(Stdio::null());
    command
}

/// A plain HTTP/1.1 GET, read to the end.
fn get(address: &str, path: &str, request_id: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nx-request-id: {request_id}\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    answer
}

#[test]
fn a_bad_database_url_exits_2_naming_the_flag() {
    let output = server(&["--database-url", "mysql://app:hunter2@db/team"])
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_bad_log_filter_exits_2_naming_the_flag() {
    let output = server(&["--log-level", "info,[="]).output().expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--log-level"), "{stderr}");
}

#[test]
fn postgres_without_a_key_file_exits_2_before_connecting() {
    // Nothing listens on port 1: had it tried to connect, it would exit 3 instead.
    let output = server(&["--database-url", "postgres://app@127.0.0.1:1/team"])
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--jwt-key-file"), "{stderr}");
}

#[test]
fn an_unusable_sqlite_path_exits_3() {
    let folder = tempfile::tempdir().expect("temp dir");
    let missing = folder.path().join("no-such-folder").join("team.db");
    let url = format!("sqlite://{}", missing.display());

    let output = server(&["--database-url", &url]).output().expect("runs");

    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-folder"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|line| line.contains("ERROR")).count(),
        1,
        "one error line: {stderr}"
    );
}

#[test]
fn an_unreachable_postgres_exits_3() {
    let folder = tempfile::tempdir().expect("temp dir");
    let key = folder.path().join("key");
    std::fs::write(&key, "ab".repeat(32)).expect("key");
    let key = key.display().to_string();

    let output = server(&[
        "--database-url",
        "postgres://app:hunter2@127.0.0.1:1/team",
        "--jwt-key-file",
        &key,
    ])
    .output()
    .expect("runs");

    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn the_server_serves_sqlite_by_default_and_stops_on_sigterm_with_0() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut child = server(&[
        "--bind",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--log-level",
        "info,shiftdesk_http=debug",
    ])
    .current_dir(folder.path())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();

    // The address comes from the "listening" line, as JSON.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut startup = Vec::new();
    let address = loop {
        assert!(Instant::now() < deadline, "no listening line");
        let line = lines.next().expect("a log line").expect("utf-8");
        startup.push(line.clone());
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["address"]
                .as_str()
                .expect("address")
                .to_owned();
        }
    };
    let answer = get(&address, "/readyz", "probe-1");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");

    // The request's log line carries its id and matched route.
    let answered = loop {
        let line = lines.next().expect("a log line").expect("utf-8");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if entry["fields"]["message"] == "answered" {
            break entry;
        }
    };
    assert_eq!(answered["span"]["request_id"], "probe-1", "{answered}");
    assert_eq!(answered["span"]["route"], "/readyz", "{answered}");
    assert_eq!(answered["span"]["method"], "GET", "{answered}");
    assert_eq!(answered["fields"]["status"], 200, "{answered}");
    assert!(
        folder.path().join("shiftdesk.db").exists(),
        "the default database file"
    );
    assert!(
        folder.path().join("shiftdesk.db.jwt-key").exists(),
        "the kept key"
    );

    // The first admin's password is in a file beside the database; the log names the file
    // and never the password.
    let password_file = folder.path().join("shiftdesk.db.admin-password");
    let password = std::fs::read_to_string(&password_file).expect("the admin password file");
    let password = password.trim();
    assert_eq!(password.len(), 24);
    let created = startup
        .iter()
        .find(|line| line.contains("created the first admin"))
        .expect("a line about the first admin");
    assert!(created.contains("\"WARN\""), "{created}");
    assert!(created.contains("shiftdesk.db.admin-password"), "{created}");
    assert!(
        startup.iter().all(|line| !line.contains(password)),
        "{startup:?}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exits");

    assert_eq!(exit.code(), Some(0), "listening on {address} until SIGTERM");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
}

#[test]
fn an_address_in_use_exits_2_naming_the_flag() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = taken.local_addr().expect("address").to_string();

    let folder = tempfile::tempdir().expect("temp dir");
    let output = server(&["--database-url", "memory", "--bind", &address])
        .current_dir(folder.path())
        .output()
        .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--bind"), "{stderr}");
    assert!(stderr.contains(&address), "{stderr}");
}

/// Sends `signal` to the process `pid`.
#[cfg(unix)]
fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_half_sent_request_holds_a_stopping_server_only_until_a_second_signal() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut child = server(&[
        "--database-url",
        "memory",
        "--bind",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ])
    .current_dir(folder.path())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().expect("a log line").expect("utf-8");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
        if entry["fields"]["message"] == "listening" {
            break entry["fields"]["address"]
                .as_str()
                .expect("address")
                .to_owned();
        }
    };

    // A request whose headers never end.
    let mut stream = std::net::TcpStream::connect(&address).expect("connects");
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n").as_bytes())
        .expect("sends");
    // Time for the server to start reading it; a connection with nothing read yet counts as
    // idle and is closed at once.
    std::thread::sleep(Duration::from_millis(500));
    signal(child.id(), "-TERM");
    let stopping = loop {
        let line = lines.next().expect("a log line").expect("utf-8");
        if line.contains("terminated") {
            break line;
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().expect("waits").is_none(),
        "the half-sent request keeps the server waiting after {stopping}"
    );

    signal(child.id(), "-TERM");
    let exit = child.wait().expect("exits");

    assert_eq!(exit.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("a second signal")),
        "{rest:?}"
    );
    drop(stream);
}

#[test]
fn a_bad_key_file_exits_2_before_the_database_is_created() {
    let folder = tempfile::tempdir().expect("temp dir");
    let key = folder.path().join("bad.key");
    std::fs::write(&key, "not hex at all").expect("writes");
    let database = folder.path().join("team.db");
    let output = server(&[
        "--database-url",
        &format!("sqlite://{}", database.display()),
        "--jwt-key-file",
        &key.display().to_string(),
    ])
    .output()
    .expect("runs");

    assert_eq!(output.status.code(), Some(2));
    assert!(!database.exists(), "nothing is created for a bad setting");
}
