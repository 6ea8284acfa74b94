//! Every route, called by every kind of caller: anonymous, a customer, the agent whose
//! things they are (Mei), another agent (Ben), and an admin. The table below is the role
//! matrix as the server enforces it; the OpenAPI document must list exactly its routes, so a
//! route added without its row fails here.
//!
//! A refused call must change nothing, so callers take turns on one set of objects until a
//! call succeeds; after that the next caller gets a fresh set (a week of its own), so what
//! one caller's success changed never decides another's answer.

mod common;

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::{Value, json};

use common::{PASSWORD, TestServer, servers};

/// Who calls, in the order they take turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Anonymous,
    Customer,
    OtherAgent,
    Agent,
    Admin,
}

const ROLES: [Role; 5] = [
    Role::Anonymous,
    Role::Customer,
    Role::OtherAgent,
    Role::Agent,
    Role::Admin,
];

/// One route and the status each role gets: anonymous, customer, Mei, Ben, admin.
struct Row {
    method: &'static str,
    /// The route as the OpenAPI document spells it.
    route: &'static str,
    /// The path called, with `{name}` placeholders for the objects of [`World`].
    path: &'static str,
    body: fn(&World) -> Option<Value>,
    expected: [u16; 5],
    /// Whether a success ends the caller's own sessions, so they log in again.
    ends_session: bool,
}

const fn row(
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: fn(&World) -> Option<Value>,
    expected: [u16; 5],
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expected,
        ends_session: false,
    }
}

fn none(_: &World) -> Option<Value> {
    None
}

/// Statuses by role: anonymous, customer, Mei (whose things they are), Ben, admin.
const TABLE: &[Row] = &[
    row(
        "get",
        "/healthz",
        "/healthz",
        none,
        [200, 200, 200, 200, 200],
    ),
    row("get", "/readyz", "/readyz", none, [200, 200, 200, 200, 200]),
    row(
        "get",
        "/metrics",
        "/metrics",
        none,
        [200, 200, 200, 200, 200],
    ),
    row(
        "get",
        "/api/openapi.json",
        "/api/openapi.json",
        none,
        [200, 200, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/auth/login",
        "/api/v1/auth/login",
        |_| Some(json!({ "login": "dee", "password": PASSWORD })),
        [200, 200, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/auth/customer",
        "/api/v1/auth/customer",
        |_| Some(json!({})),
        [200, 200, 200, 200, 200],
    ),
    row(
        "get",
        "/api/v1/me",
        "/api/v1/me",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "get",
        "/api/v1/users",
        "/api/v1/users",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/users",
        "/api/v1/users",
        |w| {
            let login = format!("new{}", w.week);
            Some(
                json!({ "login": login, "display_name": "New", "role": "agent", "password": PASSWORD }),
            )
        },
        [401, 403, 403, 403, 201],
    ),
    row(
        "get",
        "/api/v1/users/{id}",
        "/api/v1/users/{mei}",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "patch",
        "/api/v1/users/{id}",
        "/api/v1/users/{mei}",
        |_| Some(json!({ "display_name": "Mei Lin" })),
        [401, 403, 200, 403, 200],
    ),
    row(
        "put",
        "/api/v1/users/{id}/password",
        "/api/v1/users/{spare_agent}/password",
        |_| Some(json!({ "password": "a different long password" })),
        [401, 403, 403, 403, 204],
    ),
    row(
        "get",
        "/api/v1/team",
        "/api/v1/team",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "put",
        "/api/v1/team",
        "/api/v1/team",
        |_| Some(team()),
        [401, 403, 403, 403, 200],
    ),
    row(
        "get",
        "/api/v1/shifts",
        "/api/v1/shifts",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/shifts",
        "/api/v1/shifts",
        |w| Some(json!({ "name": format!("late {}", w.week), "start": "14:00", "end": "22:00" })),
        [401, 403, 403, 403, 201],
    ),
    row(
        "patch",
        "/api/v1/shifts/{id}",
        "/api/v1/shifts/{spare_shift}",
        |w| Some(json!({ "name": format!("evening {}", w.week) })),
        [401, 403, 403, 403, 200],
    ),
    row(
        "delete",
        "/api/v1/shifts/{id}",
        "/api/v1/shifts/{spare_shift}",
        none,
        [401, 403, 403, 403, 204],
    ),
    row(
        "get",
        "/api/v1/schedule",
        "/api/v1/schedule?from={day0}&to={day6}",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/schedule/assignments",
        "/api/v1/schedule/assignments",
        |w| {
            Some(json!({
                "shift": w.ids["shift"], "dates": { "first": w.day(5), "last": w.day(5) },
                "agents": [w.ids["ben"]],
            }))
        },
        [401, 403, 403, 403, 201],
    ),
    row(
        "get",
        "/api/v1/schedule/entries/{id}",
        "/api/v1/schedule/entries/{entry}",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "patch",
        "/api/v1/schedule/entries/{id}",
        "/api/v1/schedule/entries/{entry}",
        |w| Some(json!({ "agent": w.ids["mei"], "shift": w.ids["shift"], "date": w.day(5) })),
        [401, 403, 403, 403, 200],
    ),
    row(
        "delete",
        "/api/v1/schedule/entries/{id}",
        "/api/v1/schedule/entries/{entry}",
        none,
        [401, 403, 403, 403, 204],
    ),
    row(
        "get",
        "/api/v1/leave",
        "/api/v1/leave",
        none,
        [401, 200, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/leave",
        "/api/v1/leave",
        |w| Some(json!({ "kind": "personal", "dates": { "first": w.day(3), "last": w.day(3) } })),
        [401, 403, 201, 201, 201],
    ),
    row(
        "get",
        "/api/v1/leave/{id}",
        "/api/v1/leave/{leave}",
        none,
        [401, 404, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/leave/{id}/approve",
        "/api/v1/leave/{leave}/approve",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "post",
        "/api/v1/leave/{id}/reject",
        "/api/v1/leave/{leave}/reject",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "post",
        "/api/v1/leave/{id}/cancel",
        "/api/v1/leave/{leave}/cancel",
        none,
        [401, 404, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/leave/{id}/revoke",
        "/api/v1/leave/{approved_leave}/revoke",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "get",
        "/api/v1/swaps",
        "/api/v1/swaps",
        none,
        [401, 200, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/swaps",
        "/api/v1/swaps",
        |w| Some(json!({ "entry": w.ids["spare_entry"], "target": w.ids["cy"], "kind": "cover" })),
        [401, 403, 201, 403, 201],
    ),
    row(
        "get",
        "/api/v1/swaps/{id}",
        "/api/v1/swaps/{swap}",
        none,
        [401, 404, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/swaps/{id}/accept",
        "/api/v1/swaps/{swap}/accept",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "post",
        "/api/v1/swaps/{id}/decline",
        "/api/v1/swaps/{swap}/decline",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "post",
        "/api/v1/swaps/{id}/cancel",
        "/api/v1/swaps/{swap}/cancel",
        none,
        [401, 404, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/swaps/{id}/approve",
        "/api/v1/swaps/{accepted_swap}/approve",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "post",
        "/api/v1/swaps/{id}/reject",
        "/api/v1/swaps/{accepted_swap}/reject",
        none,
        [401, 404, 403, 404, 200],
    ),
    row(
        "get",
        "/api/v1/canned-replies",
        "/api/v1/canned-replies",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/canned-replies",
        "/api/v1/canned-replies",
        |w| Some(json!({ "shortcode": format!("new{}", w.week), "title": "New", "body": "Hi" })),
        [401, 403, 201, 201, 201],
    ),
    row(
        "get",
        "/api/v1/canned-replies/{id}",
        "/api/v1/canned-replies/{reply}",
        none,
        [401, 404, 200, 404, 404],
    ),
    row(
        "patch",
        "/api/v1/canned-replies/{id}",
        "/api/v1/canned-replies/{reply}",
        |_| Some(json!({ "title": "Refunds" })),
        [401, 404, 200, 404, 404],
    ),
    row(
        "delete",
        "/api/v1/canned-replies/{id}",
        "/api/v1/canned-replies/{reply}",
        none,
        [401, 404, 204, 404, 404],
    ),
    row(
        "post",
        "/api/v1/canned-replies/{id}/render",
        "/api/v1/canned-replies/{reply}/render",
        |w| Some(json!({ "conversation": w.ids["conversation"] })),
        [401, 403, 200, 404, 404],
    ),
    row(
        "post",
        "/api/v1/ws/tickets",
        "/api/v1/ws/tickets",
        |_| Some(json!({})),
        [401, 201, 201, 201, 201],
    ),
    // A plain request, without the WebSocket upgrade, whatever the ticket.
    row(
        "get",
        "/api/v1/ws",
        "/api/v1/ws?ticket=made-up",
        none,
        [426, 426, 426, 426, 426],
    ),
    row(
        "get",
        "/api/v1/stats/online",
        "/api/v1/stats/online",
        none,
        [401, 403, 403, 403, 200],
    ),
    row(
        "get",
        "/api/v1/audit",
        "/api/v1/audit",
        none,
        [401, 403, 403, 403, 200],
    ),
    row(
        "get",
        "/api/v1/conversations",
        "/api/v1/conversations",
        none,
        [401, 200, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/conversations",
        "/api/v1/conversations",
        |_| Some(json!({ "message": { "body": "hello" } })),
        [401, 201, 403, 403, 403],
    ),
    row(
        "get",
        "/api/v1/conversations/count",
        "/api/v1/conversations/count",
        none,
        [401, 200, 200, 200, 200],
    ),
    row(
        "get",
        "/api/v1/conversations/export",
        "/api/v1/conversations/export?format=csv",
        none,
        [401, 200, 200, 200, 200],
    ),
    row(
        "get",
        "/api/v1/conversations/{id}",
        "/api/v1/conversations/{conversation}",
        none,
        [401, 200, 200, 404, 200],
    ),
    row(
        "get",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{conversation}/messages",
        none,
        [401, 200, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/conversations/{id}/messages",
        "/api/v1/conversations/{conversation}/messages",
        |_| Some(json!({ "body": "hi" })),
        [401, 201, 201, 404, 201],
    ),
    row(
        "post",
        "/api/v1/conversations/{id}/take",
        "/api/v1/conversations/{queued}/take",
        none,
        [401, 403, 200, 200, 200],
    ),
    row(
        "post",
        "/api/v1/conversations/{id}/transfer",
        "/api/v1/conversations/{conversation}/transfer",
        |w| Some(json!({ "to": w.ids["cy"] })),
        [401, 403, 200, 404, 200],
    ),
    row(
        "post",
        "/api/v1/conversations/{id}/status",
        "/api/v1/conversations/{conversation}/status",
        |_| Some(json!({ "action": "resolve" })),
        [401, 403, 200, 404, 200],
    ),
    row(
        "put",
        "/api/v1/conversations/{id}/read",
        "/api/v1/conversations/{conversation}/read",
        |_| Some(json!({ "seq": 1 })),
        [401, 200, 200, 404, 200],
    ),
    // Last, since they end the caller's sessions. The admin's password is not the agents', so
    // the admin's 422 (`wrong_password`) shows the route let them through to the check.
    Row {
        ends_session: true,
        ..row(
            "put",
            "/api/v1/me/password",
            "/api/v1/me/password",
            |_| Some(json!({ "current_password": PASSWORD, "new_password": PASSWORD })),
            [401, 403, 200, 200, 422],
        )
    },
    Row {
        ends_session: true,
        ..row(
            "post",
            "/api/v1/auth/logout",
            "/api/v1/auth/logout",
            none,
            [401, 403, 204, 204, 204],
        )
    },
];

fn team() -> Value {
    json!({
        "time_zone": "Europe/London",
        "min_rest_minutes": 660,
        "leave_allowances": { "annual": 25, "sick": 10, "personal": 100 },
        "default_capacity": 1000,
        "requeue_when_away": true,
    })
}

/// The objects one caller's turn works on, in a week of its own.
struct World {
    week: i64,
    first_day: NaiveDate,
    ids: std::collections::HashMap<&'static str, i64>,
}

impl World {
    fn day(&self, offset: i64) -> String {
        (self.first_day + Duration::days(offset)).to_string()
    }

    fn path(&self, template: &str) -> String {
        let mut path = template.to_owned();
        for (name, id) in &self.ids {
            path = path.replace(&format!("{{{name}}}"), &id.to_string());
        }
        for offset in 0..7 {
            path = path.replace(&format!("{{day{offset}}}"), &self.day(offset));
        }
        path
    }
}

/// The callers' tokens, renewed when a call ends a session.
struct Callers {
    customer: String,
    mei: String,
    ben: String,
    admin: String,
    /// Cy, whom Mei's swaps ask.
    cy: String,
}

impl Callers {
    fn token(&self, role: Role) -> Option<&str> {
        match role {
            Role::Anonymous => None,
            Role::Customer => Some(&self.customer),
            Role::Agent => Some(&self.mei),
            Role::OtherAgent => Some(&self.ben),
            Role::Admin => Some(&self.admin),
        }
    }
}

/// Sends as the admin or an agent and expects `status`; returns the `id` of the answer.
async fn made(server: &TestServer, token: &str, path: &str, body: Value, status: u16) -> i64 {
    let made = server
        .expect(token, Method::POST, path, Some(body), status)
        .await;
    made["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id from {path}: {made}"))
}

/// A fresh set of objects in week `week`: Mei's entries, leave, swaps, personal reply and
/// the customer's conversation she holds, and a conversation waiting in the queue.
async fn world(server: &TestServer, callers: &Callers, base: &World, week: i64) -> World {
    let first_day = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date") + Duration::weeks(week);
    let mut world = World {
        week,
        first_day,
        ids: base.ids.clone(),
    };
    let admin = callers.admin.as_str();
    let shift = world.ids["shift"];
    let assign = |agent: i64, day: String| json!({ "shift": shift, "dates": { "first": day, "last": day }, "agents": [agent] });
    let entry_on = async |day: i64| {
        let body = assign(world.ids["mei"], world.day(day));
        let path = "/api/v1/schedule/assignments";
        let written = server
            .expect(admin, Method::POST, path, Some(body), 201)
            .await;
        written["entries"][0]["id"].as_i64().expect("entry id")
    };
    let entry = entry_on(0).await;
    let spare_entry = entry_on(1).await;
    let swapped_entry = entry_on(2).await;
    world.ids.insert("entry", entry);
    world.ids.insert("spare_entry", spare_entry);

    let leave = |day: String| json!({ "kind": "personal", "dates": { "first": day, "last": day } });
    let mei = callers.mei.as_str();
    let pending = made(server, mei, "/api/v1/leave", leave(world.day(4)), 201).await;
    world.ids.insert("leave", pending);
    let approved = made(server, mei, "/api/v1/leave", leave(world.day(6)), 201).await;
    let path = format!("/api/v1/leave/{approved}/approve");
    server.expect(admin, Method::POST, &path, None, 200).await;
    world.ids.insert("approved_leave", approved);

    let cy = world.ids["cy"];
    let cover = |entry: i64| json!({ "entry": entry, "target": cy, "kind": "cover" });
    let swap = made(server, mei, "/api/v1/swaps", cover(entry), 201).await;
    world.ids.insert("swap", swap);
    let accepted = made(server, mei, "/api/v1/swaps", cover(swapped_entry), 201).await;
    let path = format!("/api/v1/swaps/{accepted}/accept");
    server
        .expect(&callers.cy, Method::POST, &path, None, 200)
        .await;
    world.ids.insert("accepted_swap", accepted);

    let shortcode = format!("refund{week}");
    let reply = json!({ "shortcode": shortcode, "title": "Refund", "body": "Hello" });
    world.ids.insert(
        "reply",
        made(server, mei, "/api/v1/canned-replies", reply, 201).await,
    );

    let first = json!({ "message": { "body": "hello" } });
    let conversation = made(
        server,
        &callers.customer,
        "/api/v1/conversations",
        first,
        201,
    )
    .await;
    let path = format!("/api/v1/conversations/{conversation}/take");
    server.expect(mei, Method::POST, &path, None, 200).await;
    world.ids.insert("conversation", conversation);
    let other = server.anonymous_customer().await;
    let queued = json!({ "message": { "body": "anyone?" } });
    world.ids.insert(
        "queued",
        made(server, &other, "/api/v1/conversations", queued, 201).await,
    );

    let spare_shift = json!({ "name": format!("spare {week}"), "start": "09:00", "end": "17:00" });
    let spare_shift = made(server, admin, "/api/v1/shifts", spare_shift, 201).await;
    world.ids.insert("spare_shift", spare_shift);
    world
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_matrix_says() {
    for server in servers().await {
        // The table and the document list the same routes.
        let document = server
            .send(Method::GET, "/api/openapi.json", None, None)
            .await;
        let document: Value = document.json().await.expect("json");
        let paths = document["paths"].as_object().expect("paths");
        let listed: BTreeSet<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = item.as_object().expect("path item").keys().cloned();
                methods.map(move |method| (method, path.clone()))
            })
            .collect();
        let tabled: BTreeSet<(String, String)> = TABLE
            .iter()
            .map(|row| (row.method.to_owned(), row.route.to_owned()))
            .collect();
        assert_eq!(listed, tabled, "the OpenAPI routes and the table's");
        assert_eq!(tabled.len(), TABLE.len(), "one row per route");

        let mut base = World {
            week: 0,
            first_day: NaiveDate::from_ymd_opt(2027, 3, 1).expect("date"),
            ids: Default::default(),
        };
        base.ids.insert("mei", server.agent_id);
        base.ids.insert("ben", server.other_id);
        base.ids.insert("cy", server.create_agent("cy").await);
        base.ids
            .insert("spare_agent", server.create_agent("ed").await);
        server.create_agent("dee").await;
        let shift = json!({ "name": "early", "start": "06:00", "end": "14:00" });
        base.ids.insert(
            "shift",
            made(&server, &server.admin, "/api/v1/shifts", shift, 201).await,
        );
        let team_path = "/api/v1/team";
        server
            .expect(&server.admin, Method::PUT, team_path, Some(team()), 200)
            .await;

        let mut callers = Callers {
            customer: server.customer.clone(),
            mei: server.agent.clone(),
            ben: server.other.clone(),
            admin: server.admin.clone(),
            cy: server.token("cy", PASSWORD).await,
        };
        let mut week = 0;
        let mut mismatches = Vec::new();
        for row in TABLE {
            week += 1;
            let mut current = world(&server, &callers, &base, week).await;
            for (at, role) in ROLES.iter().enumerate() {
                let index = match role {
                    Role::Anonymous => 0,
                    Role::Customer => 1,
                    Role::Agent => 2,
                    Role::OtherAgent => 3,
                    Role::Admin => 4,
                };
                let expected = row.expected[index];
                let method =
                    Method::from_bytes(row.method.to_uppercase().as_bytes()).expect("method");
                let path = current.path(row.path);
                let body = (row.body)(&current);
                let response = server.send(method, &path, callers.token(*role), body).await;
                let status = response.status();
                if status.as_u16() != expected {
                    let text = response.text().await.unwrap_or_default();
                    mismatches.push(format!(
                        "{} {} as {role:?}: {} instead of {expected}: {text}",
                        row.method,
                        path,
                        status.as_u16()
                    ));
                }
                if status.is_success() && at + 1 < ROLES.len() {
                    if row.ends_session {
                        renew(&server, &mut callers, *role).await;
                    }
                    week += 1;
                    current = world(&server, &callers, &base, week).await;
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "{}:\n{}",
            server.store,
            mismatches.join("\n")
        );
    }
}

/// Logs `role` in again after their sessions ended.
async fn renew(server: &TestServer, callers: &mut Callers, role: Role) {
    match role {
        Role::Agent => callers.mei = server.token("mei", PASSWORD).await,
        Role::OtherAgent => callers.ben = server.token("ben", PASSWORD).await,
        Role::Customer => callers.customer = server.anonymous_customer().await,
        // The admin's turn is the last of a row, and session-ending rows come last.
        Role::Anonymous | Role::Admin => {}
    }
}
