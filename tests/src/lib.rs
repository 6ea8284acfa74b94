//! The store contract suite: the behaviour every Shiftdesk store must show, written once
//! against [`Store`] and run, unchanged, against each store.
//!
//! Map:
//! - [`harness`]: the [`Harness`] every case starts from: a [`Service`] over the store under
//!   test with a manual clock, a recording notifier, a presence the case switches, an admin,
//!   and one-line helpers to set up agents, shifts, team settings, customers, agents on duty
//!   and conversations. [`dialogs`]: real message text in many scripts from the shared corpus.
//! - The cases, each a `pub async fn sentence_like_name(store: Arc<dyn Store>)`, by area:
//!   [`schedule`] (assignment and the conflict rules, moves, removals, dry runs), [`leave`],
//!   [`swap`], [`admin`] (permissions, audit records, domain events, team and staff),
//!   [`reads`] (the queries stores answer) and [`transactions`] (the [`Store`] and
//!   [`Tx`](shiftdesk_core::store::Tx) contract itself: atomicity and locks), [`accounts`]
//!   (passwords, token versions, login audit, the first admin); then the
//!   conversation half: [`conversations`] (sequence numbers, retries, reads, states, unread
//!   counts, refusals, events), [`routing`], [`transfer`], [`canned`] and [`search`] (one
//!   filter for list, count and export; who sees what).
//! - [`properties`]: proptest properties, generic over a store factory, with a case count
//!   each store chooses.
//! - [`store_contract_tests!`]: expands to one `#[test]` per case and property for a store.
//!
//! Dependencies point one way: this crate uses `shiftdesk-core` only; store crates (or the
//! runners in `tests/tests/`) use this crate to run the suite.
//!
//! Adding a case: write the `pub async fn` in its module, then add its name to the list in
//! [`__contract_cases!`] below. The unit test `every_case_is_in_the_macro_list` fails until
//! you do.

pub mod accounts;
pub mod admin;
pub mod canned;
pub mod concurrency;
pub mod conversations;
pub mod dialogs;
pub mod harness;
pub mod leave;
pub mod properties;
pub mod reads;
pub mod routing;
pub mod schedule;
pub mod search;
pub mod swap;
pub mod transactions;
pub mod transfer;

use std::future::Future;
use std::sync::Arc;

pub use harness::Harness;
pub use shiftdesk_core::Service;
pub use shiftdesk_core::store::Store;

/// Declares one test per contract case and property, each named after it, for the store that
/// `$factory` makes.
///
/// `$factory` is an expression evaluated afresh for every test: a future whose output is
/// `Option<Arc<dyn Store>>`, a new empty store, or `None` when the store cannot run here (no
/// database server, say), in which case the test passes after saying it skipped. Property
/// tests run `properties::DEFAULT_CASES` cases each unless `property_cases = N` says
/// otherwise; slower stores pass a smaller number.
///
/// ```text
/// async fn memory_store() -> Option<Arc<dyn Store>> {
///     Some(Arc::new(MemoryStore::new()))
/// }
///
/// shiftdesk_tests::store_contract_tests!(memory_store());
/// // or, for a slow store:
/// shiftdesk_tests::store_contract_tests!(postgres_store(), property_cases = 8);
/// ```
///
/// Every test runs on its own multi-threaded tokio runtime, as `#[tokio::test(flavor =
/// "multi_thread")]` would, but through this crate's tokio, so the calling crate needs no
/// tokio dependency of its own.
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:expr $(,)?) => {
        $crate::store_contract_tests!(
            $factory,
            property_cases = $crate::properties::DEFAULT_CASES
        );
    };
    ($factory:expr, property_cases = $cases:expr $(,)?) => {
        $crate::__contract_cases!(__contract_tests { ($factory) ($cases) });
    };
}

/// The list of every case and property, handed to the macro `$callback` (defined in this
/// crate) after `$args`. Keep it in step with the modules: the unit test
/// `every_case_is_in_the_macro_list` checks it against the source.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_cases {
    ($callback:ident { $($args:tt)* }) => {
        $crate::$callback! {
            { $($args)* }
            cases: [
                schedule::an_overnight_shift_conflicts_with_the_next_mornings_shift,
                schedule::back_to_back_shifts_are_allowed,
                schedule::a_shift_starting_half_an_hour_before_another_ends_conflicts,
                schedule::dst_nights_in_chicago_last_seven_and_nine_hours_and_end_at_six_local,
                schedule::dst_nights_in_london_last_seven_and_nine_hours_and_end_at_six_local,
                schedule::a_recurring_day_shift_planned_in_july_is_still_eight_to_four_in_november,
                schedule::three_conflicts_among_fifty_agents_write_nothing_and_are_listed_exactly,
                schedule::skip_mode_writes_the_forty_seven_free_agents_and_reports_three_skipped,
                schedule::a_batch_on_chosen_weekdays_writes_only_those_dates,
                schedule::min_rest_refuses_work_that_starts_too_soon_after_other_work,
                schedule::min_rest_is_measured_from_the_end_of_a_night_shift,
                schedule::min_rest_applies_between_agent_days_of_one_request,
                schedule::overlapping_agent_days_of_one_request_conflict_with_each_other,
                schedule::an_entry_inside_an_approved_leave_conflicts,
                schedule::an_unknown_agent_is_a_conflict,
                schedule::an_inactive_agent_is_a_conflict,
                schedule::an_unknown_shift_is_a_conflict,
                schedule::a_shift_needing_a_skill_the_agent_lacks_is_a_conflict,
                schedule::the_same_agent_twice_in_one_request_is_a_conflict,
                schedule::an_assignment_reports_every_conflict_not_only_the_first,
                schedule::a_dry_run_reports_what_it_would_write_and_writes_nothing,
                schedule::a_dry_run_in_skip_mode_reports_the_skips_and_writes_nothing,
                schedule::malformed_batches_are_refused_before_anything_is_checked,
                schedule::moving_an_entry_keeps_its_id_and_takes_the_new_agent_date_and_span,
                schedule::moving_an_entry_onto_other_work_is_refused_and_changes_nothing,
                schedule::moving_an_entry_later_the_same_day_does_not_collide_with_itself,
                schedule::an_entry_that_is_not_scheduled_cannot_be_moved,
                schedule::removing_an_entry_frees_its_slot_and_records_what_it_was,
                schedule::moving_or_removing_an_unknown_entry_is_not_found,
                leave::approving_a_leave_puts_the_agents_work_on_leave_and_reports_the_gaps,
                leave::leave_over_a_swapped_in_entry_puts_it_on_leave_and_names_whom_it_covered,
                leave::a_pending_leave_can_be_rejected_and_is_then_final,
                leave::a_requester_can_cancel_a_pending_leave_and_it_is_then_final,
                leave::an_approved_leave_can_only_be_revoked,
                leave::a_pending_leave_cannot_be_revoked,
                leave::revoking_a_leave_puts_its_entries_back_on_the_schedule,
                leave::revoking_is_refused_with_conflicts_when_work_was_planned_over_the_leave,
                leave::revoking_checks_and_restores_every_entry_of_a_date_with_two_shifts,
                leave::overlapping_leave_requests_are_refused_while_the_first_holds_its_dates,
                leave::four_one_day_leaves_against_an_allowance_of_three_refuse_the_fourth_approval,
                leave::a_request_longer_than_the_remaining_allowance_is_refused_when_filed,
                leave::allowances_count_each_kind_and_calendar_year_apart,
                leave::revoked_leave_gives_its_days_back_to_the_allowance,
                leave::agents_cannot_approve_reject_or_revoke_leave,
                leave::agents_cannot_see_or_touch_a_colleagues_leave,
                leave::agents_file_leave_only_for_themselves_and_admins_for_anyone,
                swap::an_approved_cover_swap_hands_the_entry_to_the_target,
                swap::an_approved_exchange_trades_both_entries,
                swap::an_exchange_of_overlapping_shifts_is_allowed_because_each_gives_one_away,
                swap::a_swap_to_a_target_on_leave_is_refused_naming_the_target,
                swap::a_swap_to_a_busy_target_is_refused_naming_the_target,
                swap::approval_rechecks_and_refuses_when_the_target_was_scheduled_after_accepting,
                swap::approval_rechecks_and_refuses_when_the_target_went_on_leave_after_accepting,
                swap::approval_refuses_a_target_deactivated_after_accepting,
                swap::two_approvals_racing_for_the_same_target_slot_let_exactly_one_win,
                swap::a_target_can_decline_a_pending_swap_and_it_is_then_final,
                swap::a_requester_can_cancel_a_pending_or_accepted_swap,
                swap::an_admin_decides_only_after_the_target_accepts,
                swap::an_admin_can_reject_an_accepted_swap_and_nothing_moves,
                swap::a_shift_that_has_started_cannot_be_swapped,
                swap::an_entry_offered_in_an_open_swap_cannot_be_offered_again,
                swap::agents_cannot_swap_with_themselves_or_with_inactive_colleagues,
                swap::only_scheduled_entries_of_the_right_agents_can_change_hands,
                swap::agents_act_on_swaps_only_in_their_own_role,
                swap::agents_cannot_see_swaps_that_do_not_involve_them,
                swap::customers_see_no_swap_or_leave_requests,
                admin::agents_cannot_plan_the_schedule_or_manage_the_team,
                admin::customers_cannot_read_the_schedule_staff_shifts_or_team_settings,
                admin::every_schedule_change_is_audited_once_and_announced,
                admin::every_leave_change_is_audited_once_and_announced,
                admin::every_swap_change_is_audited_once_and_announced,
                admin::every_team_staff_and_shift_change_is_audited_once,
                admin::audit_records_carry_the_request_id_and_the_time_of_the_change,
                admin::events_are_published_only_after_the_change_is_visible,
                admin::refused_operations_publish_no_events_and_write_no_audit,
                admin::team_settings_start_at_defaults_and_read_back_as_written,
                admin::logins_and_shift_names_are_unique,
                admin::a_shift_template_in_use_cannot_be_removed,
                admin::deactivating_an_agent_keeps_their_entries_but_blocks_new_ones,
                reads::the_schedule_is_read_by_dates_agents_and_status_in_agent_then_start_order,
                reads::leave_requests_are_read_by_agent_state_and_dates_in_id_order_a_page_at_a_time,
                reads::swap_requests_are_read_by_agent_state_and_entry_in_id_order_a_page_at_a_time,
                reads::the_audit_log_reads_newest_first_with_filters_and_paging,
                reads::staff_and_shift_templates_read_back_as_created,
                transactions::a_transaction_dropped_without_commit_leaves_no_trace,
                transactions::a_dropped_transaction_releases_its_locks,
                transactions::a_second_writer_on_an_agent_waits_and_then_reads_the_first_commit,
                transactions::locking_agents_that_do_not_exist_is_allowed,
                transactions::stores_refuse_writes_that_break_their_integrity_rules,
                transactions::entries_read_back_exactly_as_written_and_updated,
                transactions::team_settings_read_back_exactly_as_written,
                accounts::a_password_set_by_its_owner_reads_back_and_ends_their_sessions,
                accounts::role_and_activity_changes_end_sessions_but_name_and_skill_changes_do_not,
                accounts::logging_out_everywhere_ends_every_session_and_is_audited,
                accounts::staff_change_only_their_own_account_and_customers_none,
                accounts::inactive_unknown_and_password_less_staff_get_no_login_candidate,
                accounts::logins_and_failed_logins_are_audited_with_the_request_id_and_no_hash,
                accounts::a_login_checked_against_a_password_changed_meanwhile_does_not_stand,
                accounts::the_first_admin_is_created_only_while_no_staff_member_exists,
                accounts::servers_starting_at_once_create_exactly_one_first_admin,
                conversations::sequence_numbers_rise_without_gaps_while_many_senders_write_at_once,
                conversations::a_retried_client_id_stores_one_message_and_returns_the_same_number,
                conversations::a_client_id_is_the_senders_own_so_another_senders_id_never_returns_their_message,
                conversations::a_retried_system_message_with_one_client_id_is_stored_once,
                conversations::resuming_after_a_sequence_number_returns_exactly_the_later_messages_in_order,
                conversations::history_pages_before_a_sequence_number_end_just_before_it,
                conversations::status_changes_follow_the_state_machine_and_refuse_every_other_action,
                conversations::a_customers_message_wakes_a_snoozed_or_pending_conversation_for_its_holder,
                conversations::a_snoozed_conversation_wakes_by_itself_once_its_time_has_come,
                conversations::unread_counts_leave_out_own_messages_and_customers_never_count_notes,
                conversations::read_positions_never_move_backwards_or_past_the_last_message,
                conversations::events_announce_each_conversation_change_after_commit_with_what_the_hub_needs,
                conversations::a_customer_writing_while_the_agent_resolves_reopens_the_conversation_audibly,
                conversations::every_refused_conversation_operation_writes_nothing_and_announces_nothing,
                conversations::registering_one_customer_from_many_tasks_at_once_gives_them_all_one_id,
                routing::a_new_conversation_goes_only_to_an_agent_on_shift_online_active_and_with_room,
                routing::the_least_loaded_agent_wins_and_ties_go_to_the_longest_idle,
                routing::the_queue_drains_oldest_first_when_an_agent_comes_online,
                routing::a_snoozed_waiting_conversation_is_routed_only_once_it_wakes,
                routing::waiting_conversations_go_to_an_agent_once_their_shift_starts,
                routing::routers_racing_for_an_agents_last_free_slot_fill_it_once,
                routing::an_agent_taking_two_conversations_with_one_free_slot_gets_exactly_one,
                routing::agents_taking_the_same_conversation_at_once_leave_one_owner_and_one_system_message,
                routing::a_conversation_reopened_by_its_customer_goes_to_an_agent_on_duty_not_its_absent_holder,
                routing::an_agent_going_away_hands_back_open_conversations_only_when_the_team_says_so,
                transfer::a_transfer_hands_the_conversation_over_and_keeps_a_record_of_every_hand_over,
                transfer::a_transfer_to_an_agent_at_capacity_is_refused_and_changes_nothing,
                transfer::only_an_admin_may_force_a_transfer_past_capacity,
                transfer::the_transfer_context_note_quotes_the_last_ten_messages_and_the_note_for_staff_only,
                transfer::transfers_to_unknown_inactive_or_current_holders_and_of_resolved_conversations_are_refused,
                transfer::an_agent_keeps_reading_a_conversation_they_handed_over_but_no_longer_acts_on_it,
                canned::a_personal_reply_shadows_a_public_one_with_its_shortcode_for_its_owner_only,
                canned::lookup_ranks_the_exact_shortcode_then_prefixes_then_titles,
                canned::rendering_fills_names_and_the_conversation_and_names_an_unknown_variable,
                canned::agents_manage_only_their_own_personal_replies_and_admins_the_public_ones,
                canned::shortcodes_are_unique_within_a_scope_and_free_across_scopes,
                search::the_same_filter_finds_the_same_conversations_in_list_count_and_export,
                search::exports_write_every_message_as_stored_in_csv_and_json_lines,
                search::searching_two_chinese_characters_finds_them_inside_unsegmented_text,
                search::search_ignores_case_in_latin_and_cyrillic_text,
                search::search_finds_greek_words_whatever_their_case_sigma_or_tonos,
                search::an_agent_never_sees_another_agents_conversation_anywhere,
                search::customers_never_see_private_notes_anywhere,
            ]
            properties: [
                no_agent_ever_works_two_overlapping_entries,
                a_refused_batch_changes_nothing_and_reports_what_a_brute_force_check_finds,
                concurrent_batches_never_overlap_and_refuse_only_for_real_conflicts,
                conversations_keep_one_owner_no_overfilled_agent_and_gap_free_numbers,
            ]
        }
    };
}

/// Turns the case list into tests; see [`store_contract_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    (
        { ($factory:expr) ($cases:expr) }
        cases: [$($module:ident :: $case:ident),* $(,)?]
        properties: [$($property:ident),* $(,)?]
    ) => {
        $(
            #[test]
            fn $case() {
                $crate::run_case(async { $factory.await }, $crate::$module::$case);
            }
        )*
        $(
            #[test]
            fn $property() {
                $crate::properties::$property(|| async { $factory.await }, $cases);
            }
        )*
    };
}

/// Runs one case on a fresh multi-threaded runtime against the store `factory` makes, or
/// says it skipped when the factory has none.
#[doc(hidden)]
pub fn run_case<S, C, F>(factory: S, case: C)
where
    S: Future<Output = Option<Arc<dyn Store>>>,
    C: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ()>,
{
    runtime().block_on(async move {
        match factory.await {
            Some(store) => case(store).await,
            None => eprintln!("skipped: the store is not available here"),
        }
    });
}

/// The runtime each test runs on: two workers, so spawned tasks really run in parallel.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

/// The macro's lists as constants, for the unit test that checks them against the source.
#[cfg(test)]
macro_rules! __case_names {
    (
        { }
        cases: [$($module:ident :: $case:ident),* $(,)?]
        properties: [$($property:ident),* $(,)?]
    ) => {
        /// (module, case) for every listed case.
        const CASES: &[(&str, &str)] = &[$((stringify!($module), stringify!($case))),*];
        /// Every listed property.
        const PROPERTIES: &[&str] = &[$(stringify!($property)),*];
    };
}
// The list calls back `$crate::__case_names!`, so the callback must be reachable from the root.
#[cfg(test)]
pub(crate) use __case_names;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    crate::__contract_cases!(__case_names {});

    /// Every top-level `pub async fn name(store: Arc<dyn Store>)` in `src/`, as (file stem,
    /// name), and every `pub fn` taking a `factory` in `properties.rs`.
    fn cases_in_source() -> (BTreeSet<(String, String)>, BTreeSet<String>) {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut cases = BTreeSet::new();
        let mut properties = BTreeSet::new();
        for file in std::fs::read_dir(&src).unwrap() {
            let path = file.unwrap().path();
            let module = path.file_stem().unwrap().to_string_lossy().into_owned();
            if module == "concurrency" {
                // Not a case: each durable store runs it in its own test, then checks its
                // rows with its own SQL.
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, line) in text.match_indices("\npub async fn ") {
                let rest = &text[at + line.len()..];
                let Some((name, params)) = rest.split_once('(') else {
                    continue;
                };
                // rustfmt may break the parameter onto its own line.
                let params: String = params
                    .chars()
                    .take(80)
                    .filter(|c| !c.is_whitespace())
                    .collect();
                if params.starts_with("store:Arc<dynStore>") {
                    cases.insert((module.clone(), name.to_owned()));
                }
            }
            if module == "properties" {
                for (at, line) in text.match_indices("\npub fn ") {
                    let rest = &text[at + line.len()..];
                    if let Some((name, _)) = rest.split_once('<') {
                        properties.insert(name.to_owned());
                    }
                }
            }
        }
        (cases, properties)
    }

    #[test]
    fn every_case_is_in_the_macro_list() {
        let (in_source, properties_in_source) = cases_in_source();
        let listed: BTreeSet<(String, String)> = CASES
            .iter()
            .map(|(module, case)| ((*module).to_owned(), (*case).to_owned()))
            .collect();
        assert_eq!(listed.len(), CASES.len(), "a case is listed twice");
        assert!(in_source.len() > 50, "the source scan found the cases");
        let missing: Vec<_> = in_source.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "cases missing from the list: {missing:?}"
        );
        let stale: Vec<_> = listed.difference(&in_source).collect();
        assert!(stale.is_empty(), "listed but not found as cases: {stale:?}");

        let listed: BTreeSet<String> = PROPERTIES.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(
            listed, properties_in_source,
            "the property list is out of step"
        );
    }
}
