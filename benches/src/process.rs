//! `shiftdesk-server` run as a process of its own, for the benchmarks that measure the server
//! from outside: its resident memory, or clients coming back after it restarts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running server process, killed when dropped.
pub struct ServerProcess {
    child: Child,
    binary: PathBuf,
    args: Vec<String>,
    /// Its address, as `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `binary` on a free local port with `args` added (the store, the settings the
    /// run needs); logs at warn level.
    pub fn start(binary: &Path, args: &[&str]) -> ServerProcess {
        if !binary.exists() {
            fail(&format!(
                "no server at {}: build it with `cargo build --release -p shiftdesk-http`",
                binary.display()
            ));
        }
        // A free port: asked of the system, then handed to the server.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .unwrap_or_else(|error| fail(&format!("no free port: {error}")));
        let mut all = vec![
            "--bind".to_owned(),
            format!("127.0.0.1:{port}"),
            "--log-level".to_owned(),
            "warn".to_owned(),
        ];
        all.extend(args.iter().map(|arg| (*arg).to_owned()));
        let child = spawn(binary, &all);
        ServerProcess {
            child,
            binary: binary.to_owned(),
            args: all,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// The server beside the running benchmark binary, as `cargo build` puts it.
    pub fn beside_me() -> PathBuf {
        let me = std::env::current_exe().unwrap_or_else(|error| fail(&error.to_string()));
        me.with_file_name("shiftdesk-server")
    }

    /// Stops the server as an operator would, with SIGTERM, and waits for it to exit.
    pub fn stop(&mut self) {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if !signalled.is_ok_and(|status| status.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }

    /// Starts the same server again, on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(&self.binary, &self.args);
    }

    /// The server's resident memory in bytes, from `/proc/<pid>/status`.
    pub fn resident(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_else(|error| fail(&format!("cannot read the server's status: {error}")));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| {
                value
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .unwrap_or_else(|| fail("the server's status has no VmRSS line"))
    }

    /// Waits until `/readyz` answers, at most 30 seconds.
    pub async fn wait_until_ready(&self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = http.get(format!("{}/readyz", self.base)).send().await;
            if ready.is_ok_and(|answer| answer.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        fail("the server did not become ready within 30 s");
    }

    /// Logs the first admin in with the password the server wrote to `password_file`.
    pub async fn admin_token(&self, http: &reqwest::Client, password_file: &Path) -> String {
        let password = std::fs::read_to_string(password_file)
            .unwrap_or_else(|error| fail(&format!("no admin password file: {error}")));
        let body = json!({ "login": "admin", "password": password.trim() });
        let answer = post(
            http,
            &format!("{}/api/v1/auth/login", self.base),
            None,
            &body,
        )
        .await;
        text(&answer, "token")
    }

    /// The hub's online statistics, as an admin reads them.
    pub async fn online(&self, http: &reqwest::Client, admin: &str) -> Option<Value> {
        let answer = http
            .get(format!("{}/api/v1/stats/online", self.base))
            .bearer_auth(admin)
            .send()
            .await
            .ok()?;
        answer.json().await.ok()
    }

    /// Waits until the hub counts at least `expected` customer connections, or `within` has
    /// passed; the last count read.
    pub async fn wait_for_customer_connections(
        &self,
        http: &reqwest::Client,
        admin: &str,
        expected: usize,
        within: Duration,
    ) -> u64 {
        let started = Instant::now();
        let mut counted = 0;
        while started.elapsed() < within {
            if let Some(online) = self.online(http, admin).await {
                counted = online["customer_connections"].as_u64().unwrap_or(0);
                if counted >= expected as u64 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        counted
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(binary: &Path, args: &[String]) -> Child {
    Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| fail(&format!("cannot start {}: {error}", binary.display())))
}

/// POSTs `body` as JSON and answers the JSON reply; any failure ends the run.
pub async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> Value {
    let mut request = http.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request
        .send()
        .await
        .unwrap_or_else(|error| fail(&format!("POST {url}: {error}")));
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        fail(&format!("POST {url}: {status} {body}"));
    }
    body
}

/// The string `field` of `body`; its absence ends the run.
pub fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| fail(&format!("no `{field}` in {body}")))
}

/// Megabytes, to one decimal.
pub fn mb(bytes: u64) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0
}

/// Ends a run that cannot go on, with exit status 2.
pub fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}
