//! Builds the crate again when a migration is added or changed: `sqlx::migrate!` embeds the
//! migrations in the binary, and cargo does not otherwise look at that folder.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
