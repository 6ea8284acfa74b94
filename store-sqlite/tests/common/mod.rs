//! A fresh database file per test, in a temporary folder removed with the store.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use async_trait::async_trait;
use shiftdesk_core::conversation::ConversationRefusal;
use shiftdesk_core::message::{Appended, NewMessage};
use shiftdesk_core::store::{MessageRule, Store, StoreError, Tx};
use shiftdesk_store_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

/// A store over a new file that lives as long as the store.
pub struct TestStore {
    pub store: SqliteStore,
    pub dir: TempDir,
}

impl TestStore {
    /// A new, migrated, empty database in its own temporary folder.
    pub async fn new() -> TestStore {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = SqliteConfig::new(dir.path().join("shiftdesk.db"));
        let store = SqliteStore::open(&config).await.expect("the store opens");
        TestStore { store, dir }
    }
}

/// The factory the contract suite calls for every test.
pub async fn fresh_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(TestStore::new().await))
}

#[async_trait]
impl Store for TestStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.store.begin().await
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.store.begin_read().await
    }

    async fn post_message(
        &self,
        message: &NewMessage,
        rule: MessageRule,
    ) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
        self.store.post_message(message, rule).await
    }
}
