//! Leave and swap requests end to end: asking, answering and deciding, and what the
//! schedule shows afterwards, over the real server on port 0 and each store (memory and
//! SQLite always, PostgreSQL when `SHIFTDESK_TEST_DATABASE_URL` names a server).

mod common;

use common::{PASSWORD, TestServer, problem, servers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestServer {
    /// Puts `agent` on `shift` from `first` to `last` as the admin; returns the entry ids.
    async fn assign(&self, agent: i64, shift: i64, first: &str, last: &str) -> Vec<i64> {
        let body = json!({
            "shift": shift, "dates": { "first": first, "last": last }, "agents": [agent],
        });
        let path = "/api/v1/schedule/assignments";
        let written = self
            .expect(&self.admin, Method::POST, path, Some(body), 201)
            .await;
        let entries = written["entries"].as_array().expect("entries").iter();
        entries
            .map(|entry| entry["id"].as_i64().expect("id"))
            .collect()
    }

    /// The schedule entries of `agent` from `first` to `last`, as the admin reads them.
    async fn schedule_of(&self, agent: i64, first: &str, last: &str) -> Vec<Value> {
        let path = format!("/api/v1/schedule?from={first}&to={last}&agents={agent}");
        let entries = self
            .expect(&self.admin, Method::GET, &path, None, 200)
            .await;
        entries.as_array().expect("list").clone()
    }
}

/// The ids and states of a list of requests. Instants are left out: a store may keep them
/// less precisely than the answer that changed them shows.
fn ids_and_states(list: &Value) -> Vec<(Value, Value)> {
    let list = list.as_array().expect("list").iter();
    list.map(|request| (request["id"].clone(), request["status"]["state"].clone()))
        .collect()
}

/// Mei's leave on 2027-03-01 and 02, filed by her; returns its path.
async fn mei_asks_for_leave(server: &TestServer) -> String {
    let body = json!({
        "kind": "annual", "dates": { "first": "2027-03-01", "last": "2027-03-02" },
        "reason": "a family wedding",
    });
    let response = server
        .send(
            Method::POST,
            "/api/v1/leave",
            Some(&server.agent),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", server.store);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let leave: Value = response.json().await.expect("json");
    assert_eq!(location, format!("/api/v1/leave/{}", leave["id"]));
    assert_eq!(leave["agent"], server.agent_id, "{}", server.store);
    assert_eq!(leave["status"], json!({ "state": "pending" }));
    location
}

/// Mei asks Ben to cover her early shift on 2027-03-01; returns (her entry, the swap's path).
async fn mei_asks_ben_to_cover(server: &TestServer) -> (i64, String) {
    let early = server.create_shift("early", "06:00", "14:00").await;
    let entry = server
        .assign(server.agent_id, early, "2027-03-01", "2027-03-01")
        .await[0];
    let body = json!({ "entry": entry, "target": server.other_id, "kind": "cover" });
    let swap = server
        .expect(
            &server.agent,
            Method::POST,
            "/api/v1/swaps",
            Some(body),
            201,
        )
        .await;
    assert_eq!(swap["kind"], json!({ "kind": "cover" }), "{}", server.store);
    assert_eq!(swap["status"], json!({ "state": "pending" }));
    (entry, format!("/api/v1/swaps/{}", swap["id"]))
}

#[tokio::test]
async fn an_approved_leave_puts_the_entries_on_leave_and_answers_the_uncovered_shifts() {
    for server in servers().await {
        let early = server.create_shift("early", "06:00", "14:00").await;
        let entries = server
            .assign(server.agent_id, early, "2027-03-01", "2027-03-03")
            .await;
        let path = mei_asks_for_leave(&server).await;

        let approve = format!("{path}/approve");
        let change = server
            .expect(&server.admin, Method::POST, &approve, None, 200)
            .await;
        assert_eq!(
            change["leave"]["status"]["state"], "approved",
            "{}",
            server.store
        );
        let uncovered: Vec<(i64, &str)> = change["uncovered"]
            .as_array()
            .expect("uncovered")
            .iter()
            .map(|shift| {
                assert_eq!(shift["agent"], server.agent_id);
                assert_eq!(shift["shift"], early);
                let date = shift["date"].as_str().expect("date");
                (shift["entry"].as_i64().expect("entry"), date)
            })
            .collect();
        assert_eq!(
            uncovered,
            vec![(entries[0], "2027-03-01"), (entries[1], "2027-03-02")],
            "{}",
            server.store
        );

        let leave_id = change["leave"]["id"].clone();
        let read = server
            .schedule_of(server.agent_id, "2027-03-01", "2027-03-03")
            .await;
        let statuses: Vec<&Value> = read.iter().map(|entry| &entry["status"]).collect();
        let on_leave = json!({ "state": "on_leave", "leave": leave_id });
        let scheduled = json!({ "state": "scheduled" });
        assert_eq!(
            statuses,
            vec![&on_leave, &on_leave, &scheduled],
            "{}",
            server.store
        );
        let mine = server
            .expect(&server.agent, Method::GET, &path, None, 200)
            .await;
        assert_eq!(mine["status"]["state"], "approved", "{}", server.store);
    }
}

#[tokio::test]
async fn agents_see_and_withdraw_only_their_own_leave_and_never_decide_it() {
    for server in servers().await {
        let path = mei_asks_for_leave(&server).await;

        // Ben cannot see Mei's leave, so to him it does not exist.
        for (method, to) in [
            (Method::GET, path.clone()),
            (Method::POST, format!("{path}/cancel")),
            (Method::POST, format!("{path}/approve")),
        ] {
            let response = server.send(method, &to, Some(&server.other), None).await;
            let body = problem(response, 404).await;
            assert_eq!(body["code"], "not_found", "{} {to}", server.store);
        }
        let listed = server
            .expect(&server.other, Method::GET, "/api/v1/leave", None, 200)
            .await;
        assert_eq!(listed, json!([]), "{}", server.store);

        // Mei sees it but may not decide it.
        for action in ["approve", "reject", "revoke"] {
            let to = format!("{path}/{action}");
            let response = server
                .send(Method::POST, &to, Some(&server.agent), None)
                .await;
            let body = problem(response, 403).await;
            assert_eq!(body["code"], "forbidden", "{} {to}", server.store);
        }
        let pending = server
            .expect(&server.admin, Method::GET, &path, None, 200)
            .await;
        assert_eq!(pending["status"]["state"], "pending", "{}", server.store);

        let cancel = format!("{path}/cancel");
        let cancelled = server
            .expect(&server.agent, Method::POST, &cancel, None, 200)
            .await;
        assert_eq!(
            cancelled["status"]["state"], "cancelled",
            "{}",
            server.store
        );
        let listed = server
            .expect(
                &server.agent,
                Method::GET,
                "/api/v1/leave?status=cancelled",
                None,
                200,
            )
            .await;
        assert_eq!(
            ids_and_states(&listed),
            [(cancelled["id"].clone(), json!("cancelled"))]
        );
    }
}

#[tokio::test]
async fn admins_file_reject_and_list_leave_for_an_agent() {
    for server in servers().await {
        let body = json!({
            "agent": server.other_id, "kind": "sick",
            "dates": { "first": "2027-04-01", "last": "2027-04-01" },
        });
        let filed = server
            .expect(
                &server.admin,
                Method::POST,
                "/api/v1/leave",
                Some(body),
                201,
            )
            .await;
        assert_eq!(filed["agent"], server.other_id, "{}", server.store);

        let reject = format!("/api/v1/leave/{}/reject", filed["id"]);
        let note = json!({ "note": "we are short that week" });
        let rejected = server
            .expect(&server.admin, Method::POST, &reject, Some(note), 200)
            .await;
        assert_eq!(rejected["status"]["state"], "rejected", "{}", server.store);
        assert_eq!(rejected["status"]["note"], "we are short that week");

        let path = format!("/api/v1/leave?agent={}", server.other_id);
        let listed = server
            .expect(&server.admin, Method::GET, &path, None, 200)
            .await;
        assert_eq!(
            ids_and_states(&listed),
            [(rejected["id"].clone(), json!("rejected"))]
        );
        let again = server
            .send(Method::POST, &reject, Some(&server.admin), None)
            .await;
        assert_eq!(problem(again, 409).await["code"], "invalid_transition");
    }
}

#[tokio::test]
async fn an_accepted_and_approved_cover_moves_the_entry_to_the_colleague() {
    for server in servers().await {
        let (entry, path) = mei_asks_ben_to_cover(&server).await;

        // Mei cannot accept for Ben, and nobody but an admin approves.
        let accept = format!("{path}/accept");
        let response = server
            .send(Method::POST, &accept, Some(&server.agent), None)
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
        let accepted = server
            .expect(&server.other, Method::POST, &accept, None, 200)
            .await;
        assert_eq!(accepted["status"]["state"], "accepted", "{}", server.store);
        let approve = format!("{path}/approve");
        for token in [&server.agent, &server.other] {
            let response = server.send(Method::POST, &approve, Some(token), None).await;
            assert_eq!(problem(response, 403).await["code"], "forbidden");
        }

        let approved = server
            .expect(&server.admin, Method::POST, &approve, None, 200)
            .await;
        assert_eq!(approved["status"]["state"], "approved", "{}", server.store);
        let swap_id = approved["id"].clone();
        let hers = server
            .schedule_of(server.agent_id, "2027-03-01", "2027-03-01")
            .await;
        assert_eq!(hers.len(), 1, "{}", server.store);
        assert_eq!(hers[0]["id"], entry);
        assert_eq!(
            hers[0]["status"],
            json!({ "state": "swapped_out", "to": server.other_id, "swap": swap_id }),
            "{}",
            server.store
        );
        let his = server
            .schedule_of(server.other_id, "2027-03-01", "2027-03-01")
            .await;
        assert_eq!(his.len(), 1, "{}", server.store);
        assert_eq!(his[0]["start"], "2027-03-01T06:00:00Z");
        assert_eq!(his[0]["status"], json!({ "state": "scheduled" }));
        assert_eq!(his[0]["origin"]["kind"], "swap", "{}", server.store);
        assert_eq!(his[0]["origin"]["swap"], swap_id);
    }
}

#[tokio::test]
async fn approval_is_refused_with_the_conflict_when_the_colleague_became_busy() {
    for server in servers().await {
        let (entry, path) = mei_asks_ben_to_cover(&server).await;
        let accept = format!("{path}/accept");
        server
            .expect(&server.other, Method::POST, &accept, None, 200)
            .await;
        let mid = server.create_shift("mid", "10:00", "18:00").await;
        let busy = server
            .assign(server.other_id, mid, "2027-03-01", "2027-03-01")
            .await[0];

        let approve = format!("{path}/approve");
        let response = server
            .send(Method::POST, &approve, Some(&server.admin), None)
            .await;
        let body = problem(response, 409).await;
        assert_eq!(body["code"], "schedule_conflicts", "{}", server.store);
        let conflicts = body["conflicts"].as_array().expect("conflicts");
        assert_eq!(conflicts.len(), 1, "{body}");
        assert_eq!(conflicts[0]["agent"], server.other_id, "{body}");
        assert_eq!(conflicts[0]["reason"]["with"]["entry"], busy, "{body}");

        let swap = server
            .expect(&server.admin, Method::GET, &path, None, 200)
            .await;
        assert_eq!(swap["status"]["state"], "accepted", "{}", server.store);
        let hers = server
            .schedule_of(server.agent_id, "2027-03-01", "2027-03-01")
            .await;
        assert_eq!(hers[0]["id"], entry);
        assert_eq!(hers[0]["status"], json!({ "state": "scheduled" }));
        let his = server
            .schedule_of(server.other_id, "2027-03-01", "2027-03-01")
            .await;
        let ids: Vec<&Value> = his.iter().map(|entry| &entry["id"]).collect();
        assert_eq!(ids, vec![&json!(busy)], "{}", server.store);
    }
}

#[tokio::test]
async fn swaps_are_seen_and_answered_only_by_the_two_agents() {
    for server in servers().await {
        let (_, path) = mei_asks_ben_to_cover(&server).await;
        server.create_agent("cy").await;
        let cy = server.token("cy", PASSWORD).await;
        let response = server.send(Method::GET, &path, Some(&cy), None).await;
        assert_eq!(
            problem(response, 404).await["code"],
            "not_found",
            "{}",
            server.store
        );
        let listed = server
            .expect(&cy, Method::GET, "/api/v1/swaps", None, 200)
            .await;
        assert_eq!(listed, json!([]), "{}", server.store);
        let theirs = server
            .expect(&server.other, Method::GET, "/api/v1/swaps", None, 200)
            .await;
        assert_eq!(theirs.as_array().map(Vec::len), Some(1), "{}", server.store);

        let decline = format!("{path}/decline");
        let declined = server
            .expect(&server.other, Method::POST, &decline, None, 200)
            .await;
        assert_eq!(declined["status"]["state"], "declined", "{}", server.store);
        let cancel = format!("{path}/cancel");
        let response = server
            .send(Method::POST, &cancel, Some(&server.agent), None)
            .await;
        assert_eq!(problem(response, 409).await["code"], "invalid_transition");
    }
}

#[tokio::test]
async fn requesters_withdraw_swaps_and_admins_reject_them() {
    for server in servers().await {
        let (entry, path) = mei_asks_ben_to_cover(&server).await;
        let cancel = format!("{path}/cancel");
        let response = server
            .send(Method::POST, &cancel, Some(&server.other), None)
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
        let cancelled = server
            .expect(&server.agent, Method::POST, &cancel, None, 200)
            .await;
        assert_eq!(
            cancelled["status"]["state"], "cancelled",
            "{}",
            server.store
        );

        let body = json!({ "entry": entry, "target": server.other_id, "kind": "cover" });
        let again = server
            .expect(
                &server.agent,
                Method::POST,
                "/api/v1/swaps",
                Some(body),
                201,
            )
            .await;
        let reject = format!("/api/v1/swaps/{}/reject", again["id"]);
        let response = server
            .send(Method::POST, &reject, Some(&server.agent), None)
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
        let accept = format!("/api/v1/swaps/{}/accept", again["id"]);
        server
            .expect(&server.other, Method::POST, &accept, None, 200)
            .await;
        let note = json!({ "note": "Ben is on training" });
        let rejected = server
            .expect(&server.admin, Method::POST, &reject, Some(note), 200)
            .await;
        assert_eq!(rejected["status"]["state"], "rejected", "{}", server.store);
        let path = "/api/v1/swaps?status=rejected";
        let listed = server
            .expect(&server.admin, Method::GET, path, None, 200)
            .await;
        assert_eq!(
            ids_and_states(&listed),
            [(rejected["id"].clone(), json!("rejected"))]
        );
        assert_eq!(
            rejected["status"]["note"], "Ben is on training",
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn customers_get_no_leave_or_swaps() {
    for server in servers().await {
        let leave = mei_asks_for_leave(&server).await;
        let (entry, swap) = mei_asks_ben_to_cover(&server).await;

        for list in ["/api/v1/leave", "/api/v1/swaps"] {
            let listed = server
                .expect(&server.customer, Method::GET, list, None, 200)
                .await;
            assert_eq!(listed, json!([]), "{} {list}", server.store);
        }
        for path in [&leave, &swap] {
            let response = server
                .send(Method::GET, path, Some(&server.customer), None)
                .await;
            assert_eq!(problem(response, 404).await["code"], "not_found", "{path}");
        }
        let body = json!({
            "agent": server.agent_id, "kind": "annual",
            "dates": { "first": "2027-05-01", "last": "2027-05-01" },
        });
        let response = server
            .send(
                Method::POST,
                "/api/v1/leave",
                Some(&server.customer),
                Some(body),
            )
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
        let body = json!({ "entry": entry, "target": server.other_id, "kind": "cover" });
        let response = server
            .send(
                Method::POST,
                "/api/v1/swaps",
                Some(&server.customer),
                Some(body),
            )
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn requests_without_a_token_are_unauthorized() {
    for server in servers().await {
        let leave = mei_asks_for_leave(&server).await;
        let (_, swap) = mei_asks_ben_to_cover(&server).await;
        let calls = [
            (Method::GET, "/api/v1/leave".to_owned()),
            (Method::GET, leave.clone()),
            (Method::POST, format!("{leave}/approve")),
            (Method::GET, "/api/v1/swaps".to_owned()),
            (Method::POST, format!("{swap}/accept")),
        ];
        for (method, path) in calls {
            let response = server.send(method, &path, None, None).await;
            assert_eq!(
                problem(response, 401).await["code"],
                "unauthorized",
                "{path}"
            );
        }
        let still = server
            .expect(&server.admin, Method::GET, &leave, None, 200)
            .await;
        assert_eq!(still["status"]["state"], "pending", "{}", server.store);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field() {
    for server in servers().await {
        let (entry, swap) = mei_asks_ben_to_cover(&server).await;
        let swap_id: i64 = swap
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .expect("id");
        let dates = json!({ "first": "2027-03-01", "last": "2027-03-01" });
        let unreadable = json!({ "first": "1 March", "last": "2027-03-01" });
        let reversed = json!({ "first": "2027-03-02", "last": "2027-03-01" });
        let ben = server.other_id;
        let leave_cases = [
            (json!({ "kind": "holiday", "dates": dates }), "kind"),
            (
                json!({ "kind": "annual", "dates": unreadable }),
                "dates.first",
            ),
            (json!({ "kind": "annual", "dates": reversed }), "dates.last"),
            (
                json!({ "kind": "annual", "dates": dates, "reason": "bell\u{7}" }),
                "reason",
            ),
            (
                json!({ "kind": "annual", "dates": dates, "agent": 0 }),
                "agent",
            ),
            (
                json!({ "kind": "annual", "dates": dates, "hours": 8 }),
                "hours",
            ),
            (json!({ "kind": "annual" }), "dates"),
        ];
        for (body, field) in leave_cases {
            let response = server
                .send(
                    Method::POST,
                    "/api/v1/leave",
                    Some(&server.agent),
                    Some(body),
                )
                .await;
            assert_eq!(response.status(), 422, "{} {field}", server.store);
            let body = problem(response, 422).await;
            assert_eq!(body["field"], field, "{} {body}", server.store);
        }

        let reject = format!("{swap}/reject");
        let response = server
            .send(
                Method::POST,
                &reject,
                Some(&server.admin),
                Some(json!({ "why": "no" })),
            )
            .await;
        assert_eq!(
            problem(response, 422).await["field"],
            "why",
            "{}",
            server.store
        );
        // With Mei's swap withdrawn, her entry is free to offer again.
        let cancel = format!("{swap}/cancel");
        server
            .expect(&server.agent, Method::POST, &cancel, None, 200)
            .await;
        let swap_cases = [
            (
                json!({ "entry": entry, "target": ben, "kind": "trade" }),
                "kind",
            ),
            (
                json!({ "entry": entry, "target": ben, "kind": "exchange" }),
                "target_entry",
            ),
            (
                json!({ "entry": entry, "target": ben, "kind": "cover", "target_entry": entry }),
                "target_entry",
            ),
            (
                json!({ "entry": -1, "target": ben, "kind": "cover" }),
                "entry",
            ),
            (
                json!({ "entry": entry, "target": 0, "kind": "cover" }),
                "target",
            ),
            (
                json!({ "entry": entry, "target": server.agent_id, "kind": "cover" }),
                "target",
            ),
        ];
        for (body, field) in swap_cases {
            let response = server
                .send(
                    Method::POST,
                    "/api/v1/swaps",
                    Some(&server.agent),
                    Some(body),
                )
                .await;
            assert_eq!(response.status(), 422, "{} {field}", server.store);
            let body = problem(response, 422).await;
            assert_eq!(body["field"], field, "{} {body}", server.store);
        }

        for (query, field) in [
            ("/api/v1/leave?status=open", "status"),
            ("/api/v1/leave?agent=x", "agent"),
            ("/api/v1/swaps?status=open", "status"),
            ("/api/v1/swaps?mine=1", "mine"),
        ] {
            let response = server
                .send(Method::GET, query, Some(&server.admin), None)
                .await;
            assert_eq!(problem(response, 422).await["field"], field, "{query}");
        }
        let listed = server
            .expect(&server.admin, Method::GET, "/api/v1/leave", None, 200)
            .await;
        assert_eq!(listed, json!([]), "nothing filed on {}", server.store);
        let swaps = server
            .expect(&server.admin, Method::GET, "/api/v1/swaps", None, 200)
            .await;
        let expected = [(json!(swap_id), json!("cancelled"))];
        assert_eq!(
            ids_and_states(&swaps),
            expected,
            "nothing filed on {}",
            server.store
        );
    }
}

#[tokio::test]
async fn leave_lists_page_by_cursor_in_id_order() {
    for server in servers().await {
        let mut filed = Vec::new();
        for day in ["2027-05-03", "2027-05-10", "2027-05-17"] {
            let body = json!({ "kind": "annual", "dates": { "first": day, "last": day } });
            let leave = server
                .expect(
                    &server.agent,
                    Method::POST,
                    "/api/v1/leave",
                    Some(body),
                    201,
                )
                .await;
            filed.push(leave["id"].clone());
        }
        let first = server
            .send(
                Method::GET,
                "/api/v1/leave?limit=2",
                Some(&server.agent),
                None,
            )
            .await;
        let link = first.headers()["link"].to_str().expect("ascii").to_owned();
        let first: Value = first.json().await.expect("json");
        let next = link
            .strip_prefix('<')
            .and_then(|rest| rest.split_once('>'))
            .expect("a link")
            .0;
        assert!(next.starts_with("/api/v1/leave?limit=2&cursor="), "{link}");
        let second = server
            .expect(&server.agent, Method::GET, next, None, 200)
            .await;
        let ids: Vec<Value> = [first, second]
            .iter()
            .flat_map(|page| page.as_array().expect("list").clone())
            .map(|leave| leave["id"].clone())
            .collect();
        assert_eq!(ids, filed, "{}", server.store);

        let swaps_cursor = "/api/v1/swaps?limit=1";
        let response = server
            .send(Method::GET, swaps_cursor, Some(&server.agent), None)
            .await;
        assert!(
            !response.headers().contains_key("link"),
            "no swaps, no next page"
        );
        let cursor = next.split("cursor=").nth(1).expect("cursor");
        let wrong_list = format!("/api/v1/swaps?cursor={cursor}");
        let response = server
            .send(Method::GET, &wrong_list, Some(&server.agent), None)
            .await;
        assert_eq!(problem(response, 422).await["code"], "invalid_cursor");
    }
}
