//! Races for unique names on the real database, which the in-memory store cannot show since
//! it runs one transaction at a time. Requests check that a name is free and then write it;
//! when two take the same name in between, the database refuses the later one, and its
//! caller must hear the domain's "taken", never a store failure. Likewise a shift template
//! removed while it is being assigned is either in use or unknown, never a failure.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use shiftdesk_core::Service;
use shiftdesk_core::canned::{CannedReplyUpdate, NewCannedReply, ReplyScope, Template};
use shiftdesk_core::conflict::{Conflict, ConflictReason};
use shiftdesk_core::error::{AdminError, CannedError, Resource, ScheduleError};
use shiftdesk_core::event::SilentNotifier;
use shiftdesk_core::schedule::Placement;
use shiftdesk_core::service::AssignOptions;
use shiftdesk_core::shift::{NewShift, ShiftTimes, ShiftUpdate};
use shiftdesk_core::staff::{Actor, Context, NewAgent, Role};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{DisplayName, Login, ShiftName, Shortcode, Title};
use shiftdesk_core::time::ManualClock;
use shiftdesk_store_postgres::testing::fresh_pg_store;
use tokio::sync::Barrier;

/// Each race runs this many times, to meet the interleaving where both checks pass.
const ROUNDS: usize = 6;
/// How many requests take the same name in one round.
const TASKS: usize = 4;

async fn service() -> Option<Service> {
    let store: Arc<dyn Store> = Arc::new(fresh_pg_store(TASKS as u32 + 2).await?);
    let now = DateTime::parse_from_rfc3339("2027-03-01T00:00:00Z").expect("an instant");
    let clock = Arc::new(ManualClock::new(now.with_timezone(&Utc)));
    Some(Service::new(store, Arc::new(SilentNotifier), clock))
}

fn admin() -> Context {
    Context::new(Actor::System)
}

fn shift_name(name: &str) -> ShiftName {
    ShiftName::parse(name).expect("a valid shift name")
}

fn shortcode(code: &str) -> Shortcode {
    Shortcode::parse(code).expect("a valid shortcode")
}

fn public_reply(code: &str) -> NewCannedReply {
    NewCannedReply {
        scope: ReplyScope::Public,
        shortcode: shortcode(code),
        title: Title::parse("Greeting").expect("a valid title"),
        category: None,
        body: Template::parse("Hello!").expect("a valid template"),
    }
}

/// Runs `TASKS` copies of `attempt` at once, each given its index, and returns their answers.
async fn at_once<T, F, Fut>(attempt: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for index in 0..TASKS {
        let (start, attempt) = (start.clone(), attempt(index));
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            attempt.await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a request finishes"));
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shifts_renamed_to_one_name_at_once_leave_one_holder_and_tell_the_rest_it_is_taken() {
    let Some(service) = service().await else {
        return;
    };
    let times = ShiftTimes::new(
        "08:00".parse().expect("a time"),
        "16:00".parse().expect("a time"),
    )
    .expect("valid shift times");
    for round in 0..ROUNDS {
        let mut shifts = Vec::new();
        for n in 0..TASKS {
            let shift = NewShift {
                name: shift_name(&format!("round {round} shift {n}")),
                times,
                required_skill: None,
            };
            shifts.push(
                service
                    .create_shift(&admin(), shift)
                    .await
                    .expect("created"),
            );
        }
        let wanted = shift_name(&format!("round {round} day"));

        let answers = at_once(|n| {
            let (service, id, wanted) = (service.clone(), shifts[n].id, wanted.clone());
            let update = ShiftUpdate {
                name: Some(wanted),
                required_skill: None,
            };
            async move { service.update_shift(&admin(), id, update).await }
        })
        .await;

        let renamed = answers.iter().filter(|answer| answer.is_ok()).count();
        assert_eq!(renamed, 1, "round {round}: one rename wins: {answers:?}");
        for answer in answers.iter().filter(|answer| answer.is_err()) {
            assert!(
                matches!(answer, Err(AdminError::ShiftNameTaken(name)) if *name == wanted),
                "round {round}: {answer:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canned_replies_created_with_one_shortcode_at_once_leave_one_and_tell_the_rest_it_is_taken()
{
    let Some(service) = service().await else {
        return;
    };
    for round in 0..ROUNDS {
        let code = format!("hello{round}");

        let answers = at_once(|_| {
            let (service, reply) = (service.clone(), public_reply(&code));
            async move { service.create_canned_reply(&admin(), reply).await }
        })
        .await;

        let created = answers.iter().filter(|answer| answer.is_ok()).count();
        assert_eq!(
            created, 1,
            "round {round}: one reply is created: {answers:?}"
        );
        for answer in answers.iter().filter(|answer| answer.is_err()) {
            assert!(
                matches!(answer, Err(CannedError::ShortcodeTaken(taken)) if taken.as_str() == code),
                "round {round}: {answer:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canned_replies_given_one_shortcode_at_once_keep_one_and_tell_the_rest_it_is_taken() {
    let Some(service) = service().await else {
        return;
    };
    for round in 0..ROUNDS {
        let mut replies = Vec::new();
        for n in 0..TASKS {
            let reply = public_reply(&format!("r{round}n{n}"));
            replies.push(
                service
                    .create_canned_reply(&admin(), reply)
                    .await
                    .expect("created"),
            );
        }
        let code = format!("thanks{round}");

        let answers = at_once(|n| {
            let (service, id) = (service.clone(), replies[n].id);
            let update = CannedReplyUpdate {
                shortcode: Some(shortcode(&code)),
                ..CannedReplyUpdate::default()
            };
            async move { service.update_canned_reply(&admin(), id, update).await }
        })
        .await;

        let changed = answers.iter().filter(|answer| answer.is_ok()).count();
        assert_eq!(changed, 1, "round {round}: one reply takes it: {answers:?}");
        for answer in answers.iter().filter(|answer| answer.is_err()) {
            assert!(
                matches!(answer, Err(CannedError::ShortcodeTaken(taken)) if taken.as_str() == code),
                "round {round}: {answer:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shift_template_removed_while_assigned_is_in_use_or_unknown_never_a_failure() {
    let Some(service) = service().await else {
        return;
    };
    let agent = NewAgent {
        login: Login::parse("mei").expect("a login"),
        display_name: DisplayName::parse("Mei").expect("a name"),
        role: Role::Agent,
        skills: BTreeSet::new(),
        capacity: None,
    };
    let agent = service
        .create_agent(&admin(), agent)
        .await
        .expect("created");
    let times = ShiftTimes::new(
        "08:00".parse().expect("a time"),
        "16:00".parse().expect("a time"),
    )
    .expect("valid shift times");
    for round in 0..ROUNDS * 2 {
        let shift = NewShift {
            name: shift_name(&format!("round {round}")),
            times,
            required_skill: None,
        };
        let shift = service
            .create_shift(&admin(), shift)
            .await
            .expect("created");
        let date =
            NaiveDate::from_ymd_opt(2027, 4, 1).expect("a date") + chrono::Days::new(round as u64);
        let placement = Placement {
            agent: agent.id,
            shift: shift.id,
            date,
        };
        let start = Arc::new(Barrier::new(2));

        let removing = {
            let (service, start) = (service.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                service.remove_shift(&admin(), shift.id).await
            })
        };
        let assigning = {
            let (service, start) = (service.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                let options = AssignOptions::default();
                service.assign(&admin(), vec![placement], options).await
            })
        };
        let removed = removing.await.expect("the removal finishes");
        let assigned = assigning.await.expect("the assignment finishes");

        let unknown = vec![Conflict {
            agent: agent.id,
            date,
            shift: shift.id,
            reason: ConflictReason::UnknownShift,
        }];
        match (&removed, &assigned) {
            (Ok(()), Err(ScheduleError::Conflicts(conflicts))) => {
                assert_eq!(conflicts, &unknown, "round {round}");
            }
            (Err(AdminError::ShiftInUse(Resource::Shift(id))), Ok(_)) => {
                assert_eq!(*id, shift.id, "round {round}");
            }
            _ => panic!("round {round}: removed {removed:?}, assigned {assigned:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canned_reply_changed_while_it_is_deleted_is_gone_never_a_failure() {
    let Some(service) = service().await else {
        return;
    };
    for round in 0..ROUNDS * 2 {
        let reply = public_reply(&format!("bye{round}"));
        let reply = service
            .create_canned_reply(&admin(), reply)
            .await
            .expect("created");
        let start = Arc::new(Barrier::new(2));

        let deleting = {
            let (service, start) = (service.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                service.delete_canned_reply(&admin(), reply.id).await
            })
        };
        let changing = {
            let (service, start) = (service.clone(), start.clone());
            let update = CannedReplyUpdate {
                title: Some(Title::parse("Farewell").expect("a valid title")),
                ..CannedReplyUpdate::default()
            };
            tokio::spawn(async move {
                start.wait().await;
                service
                    .update_canned_reply(&admin(), reply.id, update)
                    .await
            })
        };
        let deleted = deleting.await.expect("the deletion finishes");
        let changed = changing.await.expect("the change finishes");

        assert!(deleted.is_ok(), "round {round}: {deleted:?}");
        let gone = matches!(
            &changed,
            Err(CannedError::NotFound(Resource::CannedReply(id))) if *id == reply.id
        );
        assert!(changed.is_ok() || gone, "round {round}: {changed:?}");
    }
}
