//! The whole store contract suite against SQLite, a fresh database file per test.

mod common;

shiftdesk_tests::store_contract_tests!(common::fresh_store(), property_cases = 16);
