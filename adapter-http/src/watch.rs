//! Slow store calls, logged as warnings inside the request that made them.
//!
//! The store is wrapped once, where the application is built, so every route is watched the
//! same way whatever the store. What is timed here is the wait for a transaction (a pool
//! connection, SQLite's write lock) and each message's atomic step (PostgreSQL and SQLite
//! commit messages in groups, so that is the wait for its group's commit). The database
//! stores log each slow SQL statement themselves, with its text.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use shiftdesk_core::conversation::ConversationRefusal;
use shiftdesk_core::message::{Appended, NewMessage};
use shiftdesk_core::store::{MessageRule, Store, StoreError, Tx};

/// Store calls slower than this are logged as warnings.
pub(crate) const SLOW_STORE_CALL: Duration = Duration::from_millis(200);

/// A store whose slow calls are logged.
pub(crate) struct Watched(pub(crate) Arc<dyn Store>);

/// Logs `call` as slow if it took longer than [`SLOW_STORE_CALL`] since `started`.
fn check(call: &'static str, started: Instant) {
    let elapsed = started.elapsed();
    if elapsed > SLOW_STORE_CALL {
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(call, elapsed_ms, "slow store call");
    }
}

#[async_trait]
impl Store for Watched {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let started = Instant::now();
        let tx = self.0.begin().await;
        check("begin", started);
        tx
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let started = Instant::now();
        let tx = self.0.begin_read().await;
        check("begin_read", started);
        tx
    }

    async fn post_message(
        &self,
        message: &NewMessage,
        rule: MessageRule,
    ) -> Result<Result<Appended, ConversationRefusal>, StoreError> {
        let started = Instant::now();
        let posted = self.0.post_message(message, rule).await;
        check("post_message", started);
        posted
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use shiftdesk_store_memory::MemoryStore;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    /// A store whose transactions take `delay` to begin.
    struct Sluggish {
        inner: MemoryStore,
        delay: Duration,
    }

    #[async_trait]
    impl Store for Sluggish {
        async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
            tokio::time::sleep(self.delay).await;
            self.inner.begin().await
        }
    }

    /// The log lines written, shared with the subscriber.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lines").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;

        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    async fn logged_beginning(delay: Duration) -> String {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let store = Watched(Arc::new(Sluggish {
            inner: MemoryStore::new(),
            delay,
        }));
        let span = tracing::info_span!("request", request_id = "req-1");
        let _entered = span.enter();
        store.begin().await.expect("a transaction");
        let text = lines.0.lock().expect("lines").clone();
        String::from_utf8(text).expect("text")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_call_is_a_warning_in_the_request_that_made_it() {
        let logged = logged_beginning(SLOW_STORE_CALL + Duration::from_millis(50)).await;
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains("slow store call"), "{logged}");
        assert!(logged.contains("call=\"begin\""), "{logged}");
        assert!(logged.contains("req-1"), "{logged}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_call_logs_nothing() {
        let logged = logged_beginning(Duration::ZERO).await;
        assert!(logged.is_empty(), "{logged}");
    }
}
