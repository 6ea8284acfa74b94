//! The store contract suite against the in-memory store.

use std::sync::Arc;

use shiftdesk_store_memory::MemoryStore;
use shiftdesk_tests::Store;

/// A fresh, empty memory store; always available.
async fn memory_store() -> Option<Arc<dyn Store>> {
    Some(Arc::new(MemoryStore::new()))
}

shiftdesk_tests::store_contract_tests!(memory_store());
