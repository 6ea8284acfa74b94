//! Migrations that change stored data, run over data written before them.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::conversation::NewCustomer;
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::search::{self, ConversationFilter, Page};
use shiftdesk_core::service::Outgoing;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{DisplayName, ExternalId, MessageBody, SearchText};
use shiftdesk_core::time::ManualClock;
use shiftdesk_store_postgres::testing::fresh_pg_store;

/// The migration that refolds Greek text for search.
const REFOLD_GREEK: &str = include_str!("../migrations/20270102000000_refold_greek.sql");

/// How search folded text before it folded every sigma alike and dropped the tonos.
fn old_fold(text: &str) -> String {
    text.to_lowercase()
}

fn old_bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = old_fold(text).chars().collect();
    let grams: BTreeSet<String> = chars.windows(2).map(|pair| pair.iter().collect()).collect();
    grams.into_iter().collect()
}

/// A message stored with the old fold is found by every spelling of its Greek word once the
/// migration has run, and its stored fold is then exactly what search computes today.
#[tokio::test]
async fn refolding_makes_greek_messages_stored_before_findable_by_every_spelling() {
    let Some(store) = fresh_pg_store(4).await else {
        return;
    };
    let pool = store.pool().clone();
    let store: Arc<dyn Store> = Arc::new(store);
    let now = DateTime::parse_from_rfc3339("2027-03-01T10:00:00Z").expect("an instant");
    let clock = Arc::new(ManualClock::new(now.with_timezone(&Utc)));
    let service = Service::new(store, Arc::new(SilentNotifier), clock);
    let system = Context::new(Actor::System);
    let customer = NewCustomer {
        external_id: ExternalId::parse("eleni").expect("valid"),
        display_name: DisplayName::parse("Eleni").expect("valid"),
    };
    let customer = service
        .register_customer(&system, customer)
        .await
        .expect("registered");
    let text = "Η ΟΔΟΣ ΕΙΝΑΙ ΚΛΕΙΣΤΗ, οδός Ερμού";
    let first = Outgoing {
        client_id: None,
        kind: MessageKind::Message,
        body: MessageBody::parse(text).expect("valid"),
    };
    let as_customer = Context::new(Actor::Customer { id: customer.id });
    let opened = service
        .open_conversation(&as_customer, None, Some(first))
        .await
        .expect("opened");
    sqlx::query("UPDATE messages SET folded = $1, grams = $2")
        .bind(old_fold(text))
        .bind(old_bigrams(text))
        .execute(&pool)
        .await
        .expect("the message is folded the old way");
    let found = |query: &'static str| {
        let service = service.clone();
        let filter = ConversationFilter {
            text: Some(SearchText::parse(query).expect("valid")),
            ..ConversationFilter::default()
        };
        let page = Page {
            before: None,
            limit: 10,
        };
        async move {
            let system = Context::new(Actor::System);
            let listed = service.conversations(&system, filter, page).await;
            let listed = listed.expect("listed");
            listed.iter().map(|s| s.conversation.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        found("οδοσ").await,
        vec![],
        "stale folds miss the new spelling"
    );

    sqlx::raw_sql(REFOLD_GREEK)
        .execute(&pool)
        .await
        .expect("the migration runs");

    for query in ["ΟΔΟΣ", "οδός", "οδος", "οδοσ", "ΕΡΜΟΥ"] {
        assert_eq!(found(query).await, vec![opened.id], "{query:?}");
    }
    let (folded, grams): (String, Vec<String>) =
        sqlx::query_as("SELECT folded, grams FROM messages")
            .fetch_one(&pool)
            .await
            .expect("read back");
    assert_eq!(folded, search::fold(text));
    let grams: BTreeSet<String> = grams.into_iter().collect();
    let expected: BTreeSet<String> = search::bigrams(text).into_iter().collect();
    assert_eq!(grams, expected);
}

/// The migration that holds system messages to their client ids.
const SYSTEM_CLIENT_IDS: &str =
    include_str!("../migrations/20270103000000_system_message_client_ids.sql");

/// A system message stored twice under one client id, before the index could refuse it,
/// keeps both copies' text; only the first keeps the client id, and a third copy is refused.
#[tokio::test]
async fn system_messages_stored_twice_before_keep_their_text_and_one_client_id() {
    let Some(store) = fresh_pg_store(4).await else {
        return;
    };
    let pool = store.pool().clone();
    let store: Arc<dyn Store> = Arc::new(store);
    let now = DateTime::parse_from_rfc3339("2027-03-01T10:00:00Z").expect("an instant");
    let clock = Arc::new(ManualClock::new(now.with_timezone(&Utc)));
    let service = Service::new(store, Arc::new(SilentNotifier), clock);
    let customer = NewCustomer {
        external_id: ExternalId::parse("li").expect("valid"),
        display_name: DisplayName::parse("Li").expect("valid"),
    };
    let system = Context::new(Actor::System);
    let customer = service
        .register_customer(&system, customer)
        .await
        .expect("registered");
    let as_customer = Context::new(Actor::Customer { id: customer.id });
    let opened = service
        .open_conversation(&as_customer, None, None)
        .await
        .expect("opened");
    // The schema as it was: the old constraint, which let these in.
    sqlx::raw_sql(
        "DROP INDEX messages_client_id_unique; \
         ALTER TABLE messages ADD CONSTRAINT messages_client_id_unique \
             UNIQUE (conversation_id, sender_kind, sender_id, client_id)",
    )
    .execute(&pool)
    .await
    .expect("the old constraint is back");
    let insert = "INSERT INTO messages (conversation_id, seq, client_id, sender_kind, sender_id, \
                      kind, body, sent_at, folded, grams) \
                  VALUES ($1, $2, 'away', 'system', NULL, 'system', 'Back at nine.', now(), \
                      'back at nine.', '{}')";
    for seq in [1_i64, 2] {
        sqlx::query(insert)
            .bind(opened.id.get())
            .bind(seq)
            .execute(&pool)
            .await
            .expect("stored twice, as before");
    }

    sqlx::raw_sql(SYSTEM_CLIENT_IDS)
        .execute(&pool)
        .await
        .expect("the migration runs");

    let kept: Vec<(i64, Option<String>, String)> =
        sqlx::query_as("SELECT seq, client_id, body FROM messages ORDER BY seq")
            .fetch_all(&pool)
            .await
            .expect("read back");
    let body = "Back at nine.".to_owned();
    let expected = vec![(1, Some("away".to_owned()), body.clone()), (2, None, body)];
    assert_eq!(kept, expected);
    let third = sqlx::query(insert)
        .bind(opened.id.get())
        .bind(3_i64)
        .execute(&pool)
        .await;
    assert!(third.is_err(), "a third copy is refused");
}
