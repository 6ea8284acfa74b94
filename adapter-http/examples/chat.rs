//! A WebSocket client for trying the real-time side from a terminal or a script.
//!
//! ```text
//! cargo build --release -p shiftdesk-http --example chat
//! target/release/examples/chat --token "$TOKEN" [--url http://127.0.0.1:8080] [--resume 42:0 …]
//! ```
//!
//! It takes a one-time ticket with the bearer token (carrying the conversations to resume,
//! as `conversation:last_seq`), opens the connection, and prints every frame the server
//! sends as one line of JSON on standard output. Each line read from standard input is sent
//! as a frame, as is (see docs/realtime.md); when standard input ends, the connection stays
//! open. It exits when the server closes the connection, saying why on standard error: 0 for
//! a normal close, 1 otherwise.

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[derive(Debug, Parser)]
#[command(
    name = "chat",
    about = "A terminal client for Shiftdesk's real-time connection"
)]
struct Args {
    /// The server, as its HTTP address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A staff member's or customer's access token.
    #[arg(long, env = "SHIFTDESK_TOKEN", hide_env_values = true)]
    token: String,
    /// A conversation to replay from after a sequence number, as `conversation:seq`.
    #[arg(long, value_name = "CONVERSATION:SEQ", value_parser = resume_point)]
    resume: Vec<(String, u64)>,
}

fn resume_point(text: &str) -> Result<(String, u64), String> {
    let (conversation, seq) = text
        .split_once(':')
        .ok_or("expected conversation:seq, such as 42:0")?;
    let conversation: u64 = conversation
        .parse()
        .map_err(|_| format!("`{conversation}` is not a conversation id"))?;
    let seq = seq
        .parse()
        .map_err(|_| format!("`{seq}` is not a sequence number"))?;
    Ok((conversation.to_string(), seq))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("chat: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<ExitCode, String> {
    let base = args.url.trim_end_matches('/');
    let resume: BTreeMap<String, u64> = args.resume.into_iter().collect();
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/ws/tickets"))
        .bearer_auth(&args.token)
        .json(&serde_json::json!({ "resume": resume }))
        .send()
        .await
        .map_err(|error| format!("cannot reach {base}: {error}"))?;
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("no ticket: {status} {body}"));
    }
    let ticket = body["ticket"].as_str().ok_or("the answer has no ticket")?;
    let address = format!(
        "{}/api/v1/ws?ticket={ticket}",
        base.replacen("http", "ws", 1)
    );
    let (socket, _) = tokio_tungstenite::connect_async(address)
        .await
        .map_err(|error| format!("cannot connect: {error}"))?;
    let (mut sink, mut stream) = socket.split();

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut typing = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if typing => match line {
                Ok(Some(line)) if !line.trim().is_empty() => {
                    sink.send(Message::text(line)).await
                        .map_err(|error| format!("cannot send: {error}"))?;
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => typing = false,
            },
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => println!("{}", text.as_str()),
                Some(Ok(Message::Close(close))) => return Ok(closed(close)),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(format!("the connection failed: {error}")),
                None => {
                    eprintln!("chat: the connection ended");
                    return Ok(ExitCode::FAILURE);
                }
            },
        }
    }
}

/// Says why the server closed the connection; a normal close is success.
fn closed(close: Option<CloseFrame>) -> ExitCode {
    let Some(close) = close else {
        eprintln!("chat: closed");
        return ExitCode::SUCCESS;
    };
    eprintln!("chat: closed: {} {}", u16::from(close.code), close.reason);
    if close.code == CloseCode::Normal {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
