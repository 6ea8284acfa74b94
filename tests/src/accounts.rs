//! Staff accounts: password hashes kept and read back, token versions that end sessions,
//! who may change whose account, the audit of logins, and the first admin.

use std::collections::BTreeSet;
use std::sync::Arc;

use shiftdesk_core::Service;
use shiftdesk_core::account::{AttemptedLogin, LoginRefusal, PasswordHash, TokenVersion};
use shiftdesk_core::audit::{AuditAction, AuditQuery, AuditRecord, Snapshot, Subject};
use shiftdesk_core::error::{AccountError, Resource};
use shiftdesk_core::event::RecordingNotifier;
use shiftdesk_core::ids::AgentId;
use shiftdesk_core::staff::{Actor, AgentUpdate, Capacity, Context, RequestId, Role};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{DisplayName, Login, Skill};
use shiftdesk_core::time::ManualClock;
use tokio::sync::Barrier;

use crate::harness::{CLOCK_START, Harness, at};

/// Two argon2id hashes as a hasher writes them; what they hash does not matter here.
const FIRST_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Vb3X5vO0dR6cmrzL0Oj7pJ5hS0Yq4y0aW1c1W2wSg3M";
const SECOND_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$cGVwcGVycGVwcGVy$Hq2m9Yp8Vt1oQ0o4Z3p6b7Ue2Kx5Lr9Nw8Mx1Cy4Dz0";

/// Token version `n`.
fn version(n: i64) -> TokenVersion {
    TokenVersion::new(n).expect("a valid version")
}

fn hash(raw: &str) -> PasswordHash {
    PasswordHash::parse(raw).expect("a valid hash")
}

/// Shiftdesk itself, acting for a caller who is logging in, with the request's id.
fn login_desk(request: &str) -> Context {
    Context::new(Actor::System).with_request_id(RequestId::new(request))
}

/// `by` sets `agent`'s password to `raw`; returns the version tokens must carry from now on.
async fn set_password(h: &Harness, by: &Context, agent: AgentId, raw: &str) -> TokenVersion {
    let set = h.service.set_password(by, agent, hash(raw)).await;
    set.expect("the password is set")
}

/// The version a staff member's tokens must carry now.
async fn version_of(h: &Harness, agent: AgentId) -> TokenVersion {
    let state = h.service.token_state(agent).await.expect("read");
    state.expect("the staff member exists").token_version
}

/// Panics if any audit record, as stored and serialized, holds a password hash.
fn assert_no_hash_in(records: &[AuditRecord]) {
    let text = serde_json::to_string(records).expect("audit records serialize");
    for secret in [FIRST_HASH, SECOND_HASH, "argon2", "c2FsdHNhbHRzYWx0"] {
        assert!(!text.contains(secret), "an audit record holds {secret}");
    }
}

fn update(f: impl FnOnce(&mut AgentUpdate)) -> AgentUpdate {
    let mut update = AgentUpdate::default();
    f(&mut update);
    update
}

/// Setting a password stores the hash for the next login and ends every earlier session.
pub async fn a_password_set_by_its_owner_reads_back_and_ends_their_sessions(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let mei = h.agent("mei").await;
    assert_eq!(version_of(&h, mei).await, TokenVersion::FIRST);
    let refused = h.service.login_candidate(&login_desk("r-1"), "mei").await;
    assert!(
        matches!(
            refused,
            Err(AccountError::LoginRefused(LoginRefusal::NoPassword))
        ),
        "{refused:?}"
    );
    let audited = h.audit().await.len();

    let own = Context::new(Actor::agent(mei)).with_request_id(RequestId::new("r-2"));
    let changed = h.service.set_password(&own, mei, hash(FIRST_HASH)).await;
    assert_eq!(changed.expect("set"), TokenVersion::FIRST.next());
    assert_eq!(version_of(&h, mei).await, TokenVersion::FIRST.next());
    let candidate = h.service.login_candidate(&login_desk("r-3"), "MEI").await;
    let candidate = candidate.expect("mei may log in");
    assert_eq!(candidate.agent.id, mei);
    assert_eq!(candidate.password_hash.as_str(), FIRST_HASH);
    assert_eq!(candidate.token_version, TokenVersion::FIRST.next());

    let admin_set = set_password(&h, &h.admin(), mei, SECOND_HASH).await;
    assert_eq!(admin_set, version(3));
    let candidate = h.service.login_candidate(&login_desk("r-4"), "mei").await;
    assert_eq!(
        candidate.expect("found").password_hash.as_str(),
        SECOND_HASH
    );

    let records = h.audit().await;
    assert_eq!(records.len(), audited + 2, "each change writes one record");
    let by_mei = &records[1].change;
    assert_eq!(by_mei.action, AuditAction::PasswordChanged);
    assert_eq!(by_mei.subject, Subject::Agent(mei));
    assert_eq!(by_mei.actor, Actor::agent(mei));
    assert_eq!(by_mei.request_id, Some(RequestId::new("r-2")));
    assert_eq!(
        (by_mei.before.clone(), by_mei.after.clone()),
        (
            Some(Snapshot::Sessions {
                token_version: TokenVersion::FIRST
            }),
            Some(Snapshot::Sessions {
                token_version: TokenVersion::FIRST.next()
            }),
        )
    );
    assert_eq!(records[0].change.actor, Actor::admin(h.admin.id));
    assert_no_hash_in(&records);
}

/// A token speaks for a role and an active staff member, so changing either ends it; a new
/// name, skills or capacity do not.
pub async fn role_and_activity_changes_end_sessions_but_name_and_skill_changes_do_not(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let mei = h.agent("mei").await;
    let keep = [
        update(|u| u.display_name = Some(DisplayName::parse("Mei Lin").expect("valid"))),
        update(|u| u.skills = Some(BTreeSet::from([Skill::parse("billing").expect("valid")]))),
        update(|u| u.capacity = Some(Some(Capacity::new(3).expect("valid")))),
        update(|u| u.role = Some(Role::Agent)),
        update(|u| u.active = Some(true)),
    ];
    for change in keep {
        let updated = h
            .service
            .update_agent(&h.admin(), mei, change.clone())
            .await;
        updated.expect("updated");
        assert_eq!(
            version_of(&h, mei).await,
            TokenVersion::FIRST,
            "{change:?} keeps sessions"
        );
    }

    let end = [
        (update(|u| u.role = Some(Role::Admin)), Role::Admin, true),
        (update(|u| u.role = Some(Role::Agent)), Role::Agent, true),
        (update(|u| u.active = Some(false)), Role::Agent, false),
        (update(|u| u.active = Some(true)), Role::Agent, true),
    ];
    let mut expected = TokenVersion::FIRST;
    for (change, role, active) in end {
        let updated = h
            .service
            .update_agent(&h.admin(), mei, change.clone())
            .await;
        updated.expect("updated");
        expected = expected.next();
        let state = h.service.token_state(mei).await.expect("read");
        let state = state.expect("mei exists");
        assert_eq!(
            (state.token_version, state.role, state.active),
            (expected, role, active),
            "{change:?} ends sessions"
        );
        assert!(state.accepts(expected, role) == active);
        assert!(!state.accepts(expected.next(), role));
    }
    assert_eq!(expected, version(5));
    let unknown = h.service.token_state(AgentId::MAX).await.expect("read");
    assert_eq!(unknown, None);
}

/// Logging out everywhere moves the version each time, for oneself or, by an admin, for
/// anyone, and is audited.
pub async fn logging_out_everywhere_ends_every_session_and_is_audited(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let mei = h.agent("mei").await;
    let audited = h.audit().await.len();

    let own = h.service.log_out_everywhere(&h.as_agent(mei), mei).await;
    assert_eq!(own.expect("logged out"), version(2));
    let by_admin = h.service.log_out_everywhere(&h.admin(), mei).await;
    assert_eq!(by_admin.expect("logged out"), version(3));
    assert_eq!(version_of(&h, mei).await, version(3));

    let records = h.audit().await;
    assert_eq!(records.len(), audited + 2);
    for (record, actor, after) in [
        (&records[1], Actor::agent(mei), 2),
        (&records[0], h.admin().actor, 3),
    ] {
        assert_eq!(record.change.action, AuditAction::LoggedOutEverywhere);
        assert_eq!(record.change.subject, Subject::Agent(mei));
        assert_eq!(record.change.actor, actor);
        assert_eq!(
            record.change.after,
            Some(Snapshot::Sessions {
                token_version: version(after)
            })
        );
    }
}

/// An agent manages only their own account; customers manage none and cannot log anyone in.
/// A refusal changes nothing and writes no audit record.
pub async fn staff_change_only_their_own_account_and_customers_none(store: Arc<dyn Store>) {
    let h = Harness::new(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    h.service
        .set_password(&h.admin(), bo, hash(FIRST_HASH))
        .await
        .expect("set");
    let customer = h.customer("Ngozi").await;
    let customer = h.as_customer(customer.id);
    let audited = h.audit().await.len();
    let before = (version_of(&h, mei).await, version_of(&h, bo).await);

    for actor in [h.as_agent(mei), customer.clone()] {
        let password = h.service.set_password(&actor, bo, hash(SECOND_HASH)).await;
        let logout = h.service.log_out_everywhere(&actor, bo).await;
        assert!(
            matches!(password, Err(AccountError::Forbidden)),
            "{password:?}"
        );
        assert!(matches!(logout, Err(AccountError::Forbidden)), "{logout:?}");
    }
    for actor in [h.as_agent(mei), customer, h.admin()] {
        let candidate = h.service.login_candidate(&actor, "bo").await;
        assert!(
            matches!(candidate, Err(AccountError::Forbidden)),
            "{candidate:?}"
        );
        let failed = h
            .service
            .record_failed_login(&actor, "bo", LoginRefusal::WrongPassword)
            .await;
        assert!(matches!(failed, Err(AccountError::Forbidden)), "{failed:?}");
    }
    let admin = h.admin();
    let nobody = h
        .service
        .set_password(&admin, AgentId::MAX, hash(FIRST_HASH));
    assert!(
        matches!(
            nobody.await,
            Err(AccountError::NotFound(Resource::Agent(AgentId::MAX)))
        ),
        "an unknown staff member is not found"
    );

    assert_eq!(
        (version_of(&h, mei).await, version_of(&h, bo).await),
        before
    );
    let candidate = h.service.login_candidate(&login_desk("r"), "bo").await;
    assert_eq!(candidate.expect("bo").password_hash.as_str(), FIRST_HASH);
    assert_eq!(h.audit().await.len(), audited, "refusals write no audit");
}

/// Only an active staff member with a password is a login candidate.
pub async fn inactive_unknown_and_password_less_staff_get_no_login_candidate(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    for agent in [mei, bo] {
        set_password(&h, &h.admin(), agent, FIRST_HASH).await;
    }
    h.deactivate(bo).await;
    h.agent("ana").await;

    let desk = login_desk("r");
    for (login, refusal) in [
        ("bo", LoginRefusal::Inactive),
        ("ana", LoginRefusal::NoPassword),
        ("nobody", LoginRefusal::UnknownLogin),
        ("not a login!", LoginRefusal::UnknownLogin),
        ("", LoginRefusal::UnknownLogin),
    ] {
        let candidate = h.service.login_candidate(&desk, login).await;
        assert!(
            matches!(candidate, Err(AccountError::LoginRefused(found)) if found == refusal),
            "{login:?}: {candidate:?}"
        );
    }
    let candidate = h.service.login_candidate(&desk, "mei").await;
    assert_eq!(candidate.expect("mei may log in").agent.id, mei);
}

/// A login that stands is recorded as done by the staff member; failed logins, for known and
/// unknown logins alike, are recorded with the login as typed. No record holds a hash.
pub async fn logins_and_failed_logins_are_audited_with_the_request_id_and_no_hash(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let mei = h.agent("mei").await;
    set_password(&h, &h.admin(), mei, FIRST_HASH).await;
    let audited = h.audit().await.len();

    let candidate = h.service.login_candidate(&login_desk("ok-1"), "mei").await;
    let candidate = candidate.expect("mei may log in");
    let session = h
        .service
        .complete_login(&login_desk("ok-1"), &candidate)
        .await;
    let session = session.expect("the login stands");
    assert_eq!(session.agent.id, mei);
    assert_eq!(session.token_version, TokenVersion::FIRST.next());

    let desk = login_desk("bad-1");
    let failed = h
        .service
        .record_failed_login(&desk, "Mei", LoginRefusal::WrongPassword)
        .await;
    failed.expect("recorded");
    let typed = format!("  intruder{}\n", "x".repeat(100));
    let desk = login_desk("bad-2");
    let failed = h
        .service
        .record_failed_login(&desk, &typed, LoginRefusal::UnknownLogin)
        .await;
    failed.expect("recorded");

    let records = h.audit().await;
    assert_eq!(records.len(), audited + 3);
    let (unknown, wrong, ok) = (&records[0].change, &records[1].change, &records[2].change);
    assert_eq!(ok.action, AuditAction::LoginSucceeded);
    assert_eq!(ok.actor, Actor::agent(mei));
    assert_eq!(ok.subject, Subject::Agent(mei));
    assert_eq!(ok.request_id, Some(RequestId::new("ok-1")));
    assert_eq!(
        ok.after,
        Some(Snapshot::Sessions {
            token_version: TokenVersion::FIRST.next()
        })
    );

    assert_eq!(wrong.action, AuditAction::LoginFailed);
    assert_eq!(wrong.actor, Actor::System);
    assert_eq!(wrong.subject, Subject::Agent(mei));
    assert_eq!(wrong.request_id, Some(RequestId::new("bad-1")));
    assert_eq!(
        wrong.after,
        Some(Snapshot::LoginAttempt {
            login: AttemptedLogin::new("Mei"),
            refusal: LoginRefusal::WrongPassword,
        })
    );

    assert_eq!(unknown.action, AuditAction::LoginFailed);
    assert_eq!(unknown.subject, Subject::UnknownLogin);
    let expected = format!("intruder{}", "x".repeat(AttemptedLogin::MAX_CHARS - 8));
    assert_eq!(
        unknown.after,
        Some(Snapshot::LoginAttempt {
            login: AttemptedLogin::new(&expected),
            refusal: LoginRefusal::UnknownLogin,
        })
    );
    let about_unknown = AuditQuery {
        subject: Some(Subject::UnknownLogin),
        limit: 10,
        ..AuditQuery::default()
    };
    let found = h.service.audit_log(&h.admin(), about_unknown).await;
    assert_eq!(
        found.expect("read").len(),
        1,
        "the audit filters by subject"
    );
    assert_no_hash_in(&records);
}

/// A password matched against a hash that changed while it was being verified does not log
/// anyone in, and the attempt is recorded as failed.
pub async fn a_login_checked_against_a_password_changed_meanwhile_does_not_stand(
    store: Arc<dyn Store>,
) {
    let h = Harness::new(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    for agent in [mei, bo] {
        set_password(&h, &h.admin(), agent, FIRST_HASH).await;
    }
    let desk = login_desk("r");
    let mei_candidate = h.service.login_candidate(&desk, "mei").await.expect("mei");
    let bo_candidate = h.service.login_candidate(&desk, "bo").await.expect("bo");
    set_password(&h, &h.as_agent(mei), mei, SECOND_HASH).await;
    h.deactivate(bo).await;
    let audited = h.audit().await.len();

    for (candidate, refusal) in [
        (mei_candidate, LoginRefusal::Changed),
        (bo_candidate, LoginRefusal::Inactive),
    ] {
        let before = h.audit().await.len();
        let session = h.service.complete_login(&desk, &candidate).await;
        assert!(
            matches!(session, Err(AccountError::LoginRefused(found)) if found == refusal),
            "{session:?}"
        );
        let record = h.one_new_audit_record(before).await;
        assert_eq!(record.change.action, AuditAction::LoginFailed);
        assert_eq!(record.change.subject, Subject::Agent(candidate.agent.id));
    }
    assert_eq!(h.audit().await.len(), audited + 2);
}

/// A service over `store` with no staff at all, as on a first start.
fn bare_service(store: Arc<dyn Store>) -> Service {
    let clock = Arc::new(ManualClock::new(at(CLOCK_START)));
    Service::new(store, Arc::new(RecordingNotifier::default()), clock)
}

fn login(raw: &str) -> Login {
    Login::parse(raw).expect("a valid login")
}

fn name(raw: &str) -> DisplayName {
    DisplayName::parse(raw).expect("a valid name")
}

/// On an empty store the first admin is created with their password, by the system, and
/// never again once any staff member exists.
pub async fn the_first_admin_is_created_only_while_no_staff_member_exists(store: Arc<dyn Store>) {
    let service = bare_service(store);
    let first = service
        .bootstrap_admin(login("root"), name("Root"), hash(FIRST_HASH))
        .await
        .expect("bootstrapped");
    let admin = first.expect("the store was empty");
    assert_eq!((admin.login.as_str(), admin.role), ("root", Role::Admin));
    assert!(admin.active);

    let desk = login_desk("r");
    let candidate = service.login_candidate(&desk, "root").await.expect("root");
    assert_eq!(candidate.password_hash.as_str(), FIRST_HASH);
    assert_eq!(candidate.token_version, TokenVersion::FIRST);

    let again = service
        .bootstrap_admin(login("other"), name("Other"), hash(SECOND_HASH))
        .await;
    assert_eq!(again.expect("answered"), None);
    let system = Context::new(Actor::System);
    let staff = service.agents(&system).await.expect("listed");
    assert_eq!(staff, vec![admin.clone()]);

    let query = AuditQuery {
        limit: 10,
        ..AuditQuery::default()
    };
    let records = service.audit_log(&system, query).await.expect("read");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].change.action, AuditAction::AgentCreated);
    assert_eq!(records[0].change.actor, Actor::System);
    assert_eq!(records[0].change.subject, Subject::Agent(admin.id));
    assert_no_hash_in(&records);
}

/// Servers starting at once on one empty store, each with its own idea of the first admin's
/// login, create exactly one admin between them.
pub async fn servers_starting_at_once_create_exactly_one_first_admin(store: Arc<dyn Store>) {
    const SERVERS: usize = 6;
    let service = bare_service(store);
    let start = Arc::new(Barrier::new(SERVERS));
    let mut tasks = Vec::new();
    for n in 0..SERVERS {
        let (service, start) = (service.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let login = login(&format!("root-{n}"));
            service
                .bootstrap_admin(login, name("Root"), hash(FIRST_HASH))
                .await
        }));
    }
    let mut created = Vec::new();
    for task in tasks {
        let outcome = task.await.expect("a server finishes starting");
        if let Some(admin) = outcome.expect("every server gets an answer") {
            created.push(admin);
        }
    }
    assert_eq!(created.len(), 1, "one first admin, got {created:?}");
    let staff = service.agents(&Context::new(Actor::System)).await;
    assert_eq!(staff.expect("listed"), created);
}
