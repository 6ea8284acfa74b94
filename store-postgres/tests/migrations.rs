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
