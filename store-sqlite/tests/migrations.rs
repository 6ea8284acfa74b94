//! Migrations that change stored data, run over data written before them.

use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;

/// The schema as the first release created it.
const SCHEMA: &str = include_str!("../migrations/20270101000000_schema.sql");
/// The migration that adds staff accounts and rebuilds the audit log for their actions.
const STAFF_ACCOUNTS: &str = include_str!("../migrations/20270104000000_staff_accounts.sql");

/// A database file holding the first release's schema, with one agent and two audit records.
async fn database_before_accounts(dir: &tempfile::TempDir) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("before.db"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await.expect("opens");
    sqlx::raw_sql(SCHEMA).execute(&pool).await.expect("schema");
    sqlx::raw_sql(
        "INSERT INTO agents (login, display_name, role, active) \
             VALUES ('mei', 'Mei', 'agent', 1); \
         INSERT INTO audit_log (at, actor, actor_agent, request_id, action, subject, after) \
             VALUES (1, '{\"kind\":\"system\"}', NULL, 'r-1', 'agent_created', \
                     '{\"kind\":\"agent\",\"id\":1}', '{\"kind\":\"team\"}'), \
                    (2, '{\"kind\":\"system\"}', NULL, NULL, 'agent_updated', \
                     '{\"kind\":\"agent\",\"id\":1}', NULL);",
    )
    .execute(&pool)
    .await
    .expect("data written before the migration");
    pool
}

type AuditRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
);

async fn audit_rows(pool: &SqlitePool) -> Vec<AuditRow> {
    sqlx::query_as(
        "SELECT id, at, actor, request_id, action, subject, after FROM audit_log ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("the audit log reads")
}

/// Staff from before start with no password and the first token version; the audit log
/// keeps every record under its id, takes the new actions, and goes on numbering after them.
#[tokio::test]
async fn staff_accounts_keep_old_staff_and_audit_records_and_accept_login_actions() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pool = database_before_accounts(&dir).await;
    let before = audit_rows(&pool).await;
    assert_eq!(before.len(), 2);

    sqlx::raw_sql(STAFF_ACCOUNTS)
        .execute(&pool)
        .await
        .expect("the migration runs");

    let (hash, version): (Option<String>, i64) =
        sqlx::query_as("SELECT password_hash, token_version FROM agents WHERE login = 'mei'")
            .fetch_one(&pool)
            .await
            .expect("mei is still there");
    assert_eq!((hash, version), (None, 1));
    assert_eq!(audit_rows(&pool).await, before);

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor, action, subject) \
         VALUES (3, '{\"kind\":\"system\"}', 'login_failed', '{\"kind\":\"unknown_login\"}') \
         RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("a failed login is recorded");
    assert_eq!(id, 3);
    let unknown_action = sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject) \
         VALUES (4, '{\"kind\":\"system\"}', 'logged_in_twice', '{\"kind\":\"team\"}')",
    )
    .execute(&pool)
    .await;
    assert!(unknown_action.is_err(), "actions are still checked");
    let bad_hash = sqlx::query("UPDATE agents SET password_hash = 'hunter2'")
        .execute(&pool)
        .await;
    assert!(bad_hash.is_err(), "a password is never stored as such");
}
