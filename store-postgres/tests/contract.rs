//! The whole store contract suite against PostgreSQL, a fresh database per test.

shiftdesk_tests::store_contract_tests!(
    shiftdesk_store_postgres::testing::fresh_store(),
    property_cases = 8
);
