//! `shiftdesk-server`: reads its settings, opens the store, serves until told to stop.
//!
//! Exit codes: 0 after a graceful stop, 1 when serving fails, 2 for a setting that cannot be
//! used, 3 when the store cannot be used.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use shiftdesk_http::auth::bootstrap::{BootstrapError, first_admin, password_path};
use shiftdesk_http::auth::customer::CustomerSecret;
use shiftdesk_http::config::{Args, DatabaseUrl, parse_log_filter};
use shiftdesk_http::database::open_store;
use shiftdesk_http::keys::{KeyPlan, key_plan, load_key};
use shiftdesk_http::server::shutdown_signal;
use shiftdesk_http::telemetry::init_logging;
use shiftdesk_http::{App, Settings, exit, spawn};

/// How long past the request timeout a stopping server waits for open connections.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    // Clap itself exits with code 2 on an unknown flag or a value it cannot parse.
    let args = Args::parse();
    let filter = match parse_log_filter(&args.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("shiftdesk-server: {error}");
            return ExitCode::from(exit::BAD_CONFIGURATION);
        }
    };
    init_logging(filter, args.log_format);
    let database = match args.database() {
        Ok(database) => database,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(exit::BAD_CONFIGURATION);
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!("cannot start the runtime: {error}");
            return ExitCode::from(exit::FAILED);
        }
    };
    ExitCode::from(runtime.block_on(run(args, database)))
}

async fn run(args: Args, database: DatabaseUrl) -> u8 {
    tracing::info!(
        database = %database,
        bind = %args.bind,
        format = ?args.log_format,
        "starting"
    );

    // Settings first, then the store, then a key kept beside it: a bad setting or file is
    // reported before anything is opened or created, and an unusable database folder as the
    // store's fault.
    let plan = match key_plan(args.jwt_key_file.as_deref(), &database) {
        Ok(plan) => plan,
        Err(error) => {
            tracing::error!("{error}");
            return exit::BAD_CONFIGURATION;
        }
    };
    let configured_key = match &plan {
        KeyPlan::File(_) => match load_key(&plan) {
            Ok((key, _origin)) => Some(key),
            Err(error) => {
                tracing::error!("{error}");
                return exit::BAD_CONFIGURATION;
            }
        },
        KeyPlan::Ephemeral | KeyPlan::Beside(_) => None,
    };
    let customer_secret = match args
        .customer_secret_file
        .as_deref()
        .map(CustomerSecret::read)
    {
        None => None,
        Some(Ok(secret)) => Some(secret),
        Some(Err(error)) => {
            tracing::error!("{error}");
            return exit::BAD_CONFIGURATION;
        }
    };
    let opened = match open_store(&database).await {
        Ok(opened) => opened,
        Err(error) => {
            tracing::error!("{error}");
            return exit::STORE_UNUSABLE;
        }
    };
    let key = match configured_key.map_or_else(|| load_key(&plan).map(|(key, _)| key), Ok) {
        Ok(key) => key,
        Err(error) => {
            tracing::error!("{error}");
            return exit::BAD_CONFIGURATION;
        }
    };
    let app = App::new(opened, key);

    let password_file = password_path(args.admin_password_file.as_deref(), &database);
    match first_admin(app.service(), &password_file).await {
        Ok(Some(login)) => tracing::warn!(
            login = login.as_str(),
            path = %password_file.display(),
            "created the first admin; their password is in the file, readable by its owner only"
        ),
        Ok(None) => {}
        Err(error @ BootstrapError::Write { .. }) => {
            tracing::error!("{error}; set --admin-password-file (SHIFTDESK_ADMIN_PASSWORD_FILE)");
            return exit::BAD_CONFIGURATION;
        }
        Err(error) => {
            tracing::error!("{error}");
            return exit::STORE_UNUSABLE;
        }
    }

    let mut settings = Settings::new(args.bind);
    let request_timeout = settings.request_timeout;
    settings.auth.token_ttl = args.token_ttl;
    settings.auth.customer_secret = customer_secret;
    settings.auth.anonymous_customers = args.anonymous_customers;
    settings.realtime.several_devices = args.ws_several_devices;
    settings.realtime.accept_per_second = args.ws_accept_per_second;
    let server = match spawn(app, settings).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(
                "--bind (SHIFTDESK_BIND): cannot listen on {}: {error}",
                args.bind
            );
            return exit::BAD_CONFIGURATION;
        }
    };
    tracing::info!(address = %server.local_addr(), "listening");

    // A signal stops accepting and lets requests in flight finish. A connection that never
    // completes its request would hold the server forever, so a second signal, or the grace
    // period running out, stops it at once.
    let shutdown = server.shutdown_handle();
    let (cut_short, cut) = tokio::sync::oneshot::channel();
    let grace = request_timeout + SHUTDOWN_MARGIN;
    tokio::spawn(async move {
        shutdown_signal().await;
        shutdown.trigger();
        tokio::select! {
            () = shutdown_signal() => tracing::warn!("a second signal: stopping at once"),
            () = tokio::time::sleep(grace) => {
                tracing::warn!(?grace, "connections still open after the grace period: stopping");
            }
        }
        let _ = cut_short.send(());
    });
    tokio::select! {
        stopped = server.stopped() => match stopped {
            Ok(()) => {
                tracing::info!("stopped");
                exit::OK
            }
            Err(error) => {
                tracing::error!("serving failed: {error}");
                exit::FAILED
            }
        },
        _ = cut => exit::OK,
    }
}
