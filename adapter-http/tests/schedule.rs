//! Team data end to end: the team settings, shift templates, the schedule and the audit log,
//! over the real server on port 0 and each store (memory and SQLite always, PostgreSQL when
//! `SHIFTDESK_TEST_DATABASE_URL` names a server).

mod common;

use common::{TestServer, problem, servers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

impl TestServer {
    /// Sends as the admin and expects `status`; returns the body.
    async fn admin(&self, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
        let response = self.send(method, path, Some(&self.admin), body).await;
        assert_eq!(response.status().as_u16(), status, "{} {path}", self.store);
        if response.status() == StatusCode::NO_CONTENT {
            return Value::Null;
        }
        response.json().await.expect("json")
    }

    /// The status and problem code each caller gets: no token, customer, agent.
    async fn refusals(&self, method: Method, path: &str, body: Option<Value>) -> [(u16, Value); 3] {
        let mut answers = Vec::new();
        for token in [
            None,
            Some(self.customer.as_str()),
            Some(self.agent.as_str()),
        ] {
            let response = self.send(method.clone(), path, token, body.clone()).await;
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            answers.push((status, body["code"].clone()));
        }
        answers.try_into().expect("three")
    }
}

fn refused_for_readers() -> [(u16, Value); 3] {
    [
        (401, json!("unauthorized")),
        (403, json!("forbidden")),
        (200, Value::Null),
    ]
}

fn refused_for_changers() -> [(u16, Value); 3] {
    [
        (401, json!("unauthorized")),
        (403, json!("forbidden")),
        (403, json!("forbidden")),
    ]
}

fn team_body() -> Value {
    json!({
        "time_zone": "Europe/London",
        "min_rest_minutes": 660,
        "leave_allowances": { "annual": 25, "sick": 10 },
        "default_capacity": 4,
        "requeue_when_away": true,
    })
}

#[tokio::test]
async fn admins_replace_the_team_settings_and_staff_read_them() {
    for server in servers().await {
        let stored = server
            .admin(Method::PUT, "/api/v1/team", Some(team_body()), 200)
            .await;
        assert_eq!(stored, team_body(), "{}", server.store);

        let read = server.admin(Method::GET, "/api/v1/team", None, 200).await;
        assert_eq!(read, team_body(), "{}", server.store);
        let answers = server.refusals(Method::GET, "/api/v1/team", None).await;
        // Agents read the settings; the body has no problem code.
        assert_eq!(answers, refused_for_readers(), "{}", server.store);
    }
}

#[tokio::test]
async fn only_admins_change_the_team_settings() {
    for server in servers().await {
        let answers = server
            .refusals(Method::PUT, "/api/v1/team", Some(team_body()))
            .await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
        let read = server.admin(Method::GET, "/api/v1/team", None, 200).await;
        assert_eq!(read["time_zone"], "UTC", "{}", server.store);
    }
}

#[tokio::test]
async fn bad_team_settings_are_refused_naming_the_field() {
    let cases = [
        ("time_zone", json!("Mars/Olympus"), "unknown_time_zone"),
        ("min_rest_minutes", json!(0), "out_of_range"),
        ("default_capacity", json!(0), "out_of_range"),
        ("leave_allowances", json!({ "annual": 400 }), "out_of_range"),
        (
            "leave_allowances",
            json!({ "sabbatical": 4 }),
            "unknown_value",
        ),
        ("colour", json!("blue"), "unknown_field"),
    ];
    for server in servers().await {
        for (field, value, code) in &cases {
            let mut body = team_body();
            body[*field] = value.clone();
            let response = server
                .send(Method::PUT, "/api/v1/team", Some(&server.admin), Some(body))
                .await;
            let body = problem(response, 422).await;
            assert_eq!(body["code"], *code, "{} {field}", server.store);
            let named = body["field"].as_str().expect("field");
            assert!(named.starts_with(field), "{} {field}: {body}", server.store);
        }
        let malformed = server
            .client
            .put(server.url("/api/v1/team"))
            .bearer_auth(&server.admin)
            .header("content-type", "application/json")
            .body("{\"time_zone\": ")
            .send()
            .await
            .expect("answer");
        assert_eq!(problem(malformed, 400).await["code"], "malformed_json");
    }
}

#[tokio::test]
async fn admins_add_rename_and_remove_shift_templates() {
    for server in servers().await {
        let body = json!({
            "name": "night", "start": "22:00", "end": "06:00", "required_skill": "billing",
        });
        let response = server
            .send(
                Method::POST,
                "/api/v1/shifts",
                Some(&server.admin),
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", server.store);
        let location = response.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let night: Value = response.json().await.expect("json");
        assert_eq!(location, format!("/api/v1/shifts/{}", night["id"]));
        assert_eq!(night["overnight"], true);
        assert_eq!(
            (&night["start"], &night["end"]),
            (&json!("22:00"), &json!("06:00"))
        );

        let path = format!("/api/v1/shifts/{}", night["id"]);
        let changes = json!({ "name": "late", "required_skill": null });
        let changed = server.admin(Method::PATCH, &path, Some(changes), 200).await;
        assert_eq!(changed["name"], "late");
        assert_eq!(changed["required_skill"], Value::Null);
        assert_eq!(changed["start"], "22:00", "times stay");

        let list = server.admin(Method::GET, "/api/v1/shifts", None, 200).await;
        assert_eq!(list, json!([changed]), "{}", server.store);
        let answers = server.refusals(Method::GET, "/api/v1/shifts", None).await;
        assert_eq!(answers, refused_for_readers(), "{}", server.store);

        server.admin(Method::DELETE, &path, None, 204).await;
        let list = server.admin(Method::GET, "/api/v1/shifts", None, 200).await;
        assert_eq!(list, json!([]), "{}", server.store);
        let gone = server
            .send(Method::DELETE, &path, Some(&server.admin), None)
            .await;
        assert_eq!(problem(gone, 404).await["code"], "not_found");
    }
}

#[tokio::test]
async fn only_admins_change_shift_templates() {
    for server in servers().await {
        let id = server.create_shift("early", "06:00", "14:00").await;
        let path = format!("/api/v1/shifts/{id}");
        let new = json!({ "name": "late", "start": "14:00", "end": "22:00" });
        let answers = server
            .refusals(Method::POST, "/api/v1/shifts", Some(new))
            .await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
        let rename = json!({ "name": "dawn" });
        let answers = server.refusals(Method::PATCH, &path, Some(rename)).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
        let answers = server.refusals(Method::DELETE, &path, None).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);

        let list = server.admin(Method::GET, "/api/v1/shifts", None, 200).await;
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{}", server.store);
        assert_eq!(list[0]["name"], "early", "{}", server.store);
    }
}

#[tokio::test]
async fn bad_shift_templates_are_refused_naming_the_field() {
    let cases = [
        (
            json!({ "name": "a", "start": "25:00", "end": "06:00" }),
            422,
            "start",
        ),
        (
            json!({ "name": "a", "start": "6am", "end": "06:00" }),
            422,
            "start",
        ),
        (
            json!({ "name": "a", "start": "06:00", "end": "06:00" }),
            422,
            "end",
        ),
        (
            json!({ "name": "", "start": "06:00", "end": "14:00" }),
            422,
            "name",
        ),
        (json!({ "name": "a", "start": "06:00" }), 422, "end"),
        (
            json!({ "name": "a", "start": "06:00", "end": "14:00", "x": 1 }),
            422,
            "x",
        ),
        (
            json!({ "name": "early", "start": "07:00", "end": "15:00" }),
            409,
            "name",
        ),
    ];
    for server in servers().await {
        server.create_shift("early", "06:00", "14:00").await;
        for (body, status, field) in &cases {
            let response = server
                .send(
                    Method::POST,
                    "/api/v1/shifts",
                    Some(&server.admin),
                    Some(body.clone()),
                )
                .await;
            let problem = problem(response, *status).await;
            assert_eq!(
                problem["field"], *field,
                "{} {body}: {problem}",
                server.store
            );
        }
        for path in ["/api/v1/shifts/999", "/api/v1/shifts/nine"] {
            let rename = json!({ "name": "dawn" });
            let response = server
                .send(Method::PATCH, path, Some(&server.admin), Some(rename))
                .await;
            assert_eq!(problem(response, 404).await["code"], "not_found", "{path}");
        }
    }
}

/// Three agents and an early shift, with `existing` already on the early shift on
/// 2027-03-01. Returns (agents, shift id, existing entry id).
async fn planned_team(server: &TestServer) -> (Vec<i64>, i64, i64) {
    let mut agents = vec![server.create_agent("ana").await];
    agents.push(server.create_agent("bo").await);
    agents.push(server.create_agent("cy").await);
    let early = server.create_shift("early", "06:00", "14:00").await;
    let one = json!({
        "shift": early, "dates": { "first": "2027-03-01", "last": "2027-03-01" },
        "agents": [agents[1]],
    });
    let written = server
        .admin(Method::POST, "/api/v1/schedule/assignments", Some(one), 201)
        .await;
    let existing = written["entries"][0]["id"].as_i64().expect("id");
    (agents, early, existing)
}

async fn schedule_ids(server: &TestServer, query: &str) -> Vec<i64> {
    let path = format!("/api/v1/schedule?{query}");
    let entries = server.admin(Method::GET, &path, None, 200).await;
    let entries = entries.as_array().expect("list").iter();
    entries
        .map(|entry| entry["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn a_batch_with_one_conflict_answers_exactly_it_and_writes_nothing() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let batch = json!({
            "shift": early, "dates": { "first": "2027-03-01", "last": "2027-03-01" },
            "agents": agents,
        });
        let response = server
            .send(
                Method::POST,
                "/api/v1/schedule/assignments",
                Some(&server.admin),
                Some(batch),
            )
            .await;
        let body = problem(response, 409).await;
        assert_eq!(body["code"], "schedule_conflicts", "{}", server.store);
        let expected = json!([{
            "agent": agents[1], "date": "2027-03-01", "shift": early,
            "reason": { "code": "overlap", "with": {
                "kind": "entry", "entry": existing, "shift": early, "date": "2027-03-01",
            } },
        }]);
        assert_eq!(body["conflicts"], expected, "{}", server.store);

        let ids = schedule_ids(&server, "from=2027-03-01&to=2027-03-01").await;
        assert_eq!(ids, vec![existing], "{}", server.store);
    }
}

#[tokio::test]
async fn skipping_conflicts_writes_the_other_agents() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let batch = json!({
            "shift": early, "dates": { "first": "2027-03-01", "last": "2027-03-01" },
            "agents": agents, "skip_conflicts": true,
        });
        let written = server
            .admin(
                Method::POST,
                "/api/v1/schedule/assignments",
                Some(batch),
                201,
            )
            .await;
        assert_eq!(written["dry_run"], false);
        let entries = written["entries"].as_array().expect("entries");
        let who: Vec<&Value> = entries.iter().map(|entry| &entry["agent"]).collect();
        assert_eq!(
            who,
            [&json!(agents[0]), &json!(agents[2])],
            "{}",
            server.store
        );
        assert_eq!(written["skipped"][0]["agent"], agents[1]);
        assert_eq!(written["skipped"].as_array().map(Vec::len), Some(1));

        let mut ids = schedule_ids(&server, "from=2027-03-01&to=2027-03-01").await;
        ids.sort_unstable();
        let mut expected: Vec<i64> = entries.iter().filter_map(|e| e["id"].as_i64()).collect();
        expected.push(existing);
        expected.sort_unstable();
        assert_eq!(ids, expected, "{}", server.store);
    }
}

#[tokio::test]
async fn a_dry_run_answers_what_would_be_written_and_writes_nothing() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let batch = json!({
            "shift": early, "dates": { "first": "2027-03-01", "last": "2027-03-07" },
            "weekdays": ["tue", "thu"], "agents": [agents[0], agents[2]], "dry_run": true,
        });
        let planned = server
            .admin(
                Method::POST,
                "/api/v1/schedule/assignments",
                Some(batch),
                200,
            )
            .await;
        assert_eq!(planned["dry_run"], true);
        let entries = planned["entries"].as_array().expect("entries");
        let dates: Vec<&Value> = entries.iter().map(|entry| &entry["date"]).collect();
        let expected = ["2027-03-02", "2027-03-04", "2027-03-02", "2027-03-04"];
        assert_eq!(dates, expected.map(Value::from).iter().collect::<Vec<_>>());
        assert!(entries.iter().all(|entry| entry.get("id").is_none()));

        let ids = schedule_ids(&server, "from=2027-03-01&to=2027-03-07").await;
        assert_eq!(ids, vec![existing], "{}", server.store);
    }
}

#[tokio::test]
async fn an_overnight_entry_ends_the_next_morning() {
    for server in servers().await {
        let mut team = team_body();
        team["time_zone"] = json!("America/Chicago");
        server
            .admin(Method::PUT, "/api/v1/team", Some(team), 200)
            .await;
        let mei = server.create_agent("ana").await;
        let night = server.create_shift("night", "22:00", "06:00").await;
        let batch = json!({
            "shift": night, "dates": { "first": "2027-01-14", "last": "2027-01-14" },
            "agents": [mei],
        });
        server
            .admin(
                Method::POST,
                "/api/v1/schedule/assignments",
                Some(batch),
                201,
            )
            .await;

        // Chicago is six hours behind UTC in January.
        let path = format!("/api/v1/schedule?from=2027-01-14&to=2027-01-14&agents={mei}");
        let read = server
            .send(Method::GET, &path, Some(&server.agent), None)
            .await;
        assert_eq!(read.status(), StatusCode::OK, "{}", server.store);
        let read: Value = read.json().await.expect("json");
        let entry = &read[0];
        assert_eq!(entry["date"], "2027-01-14");
        assert_eq!(entry["start"], "2027-01-15T04:00:00Z", "{}", server.store);
        assert_eq!(entry["end"], "2027-01-15T12:00:00Z", "{}", server.store);
        assert_eq!(entry["status"], json!({ "state": "scheduled" }));
        assert_eq!(entry["shift"], night);
        assert_eq!(read.as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn admins_read_move_and_remove_one_entry() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let path = format!("/api/v1/schedule/entries/{existing}");
        let entry = server.admin(Method::GET, &path, None, 200).await;
        assert_eq!(entry["agent"], agents[1], "{}", server.store);

        let to = json!({ "agent": agents[0], "shift": early, "date": "2027-03-02" });
        let moved = server.admin(Method::PATCH, &path, Some(to), 200).await;
        assert_eq!(
            (&moved["agent"], &moved["date"]),
            (&json!(agents[0]), &json!("2027-03-02"))
        );
        assert_eq!(moved["start"], "2027-03-02T06:00:00Z");
        let read = server.admin(Method::GET, &path, None, 200).await;
        assert_eq!(read, moved, "{}", server.store);

        server.admin(Method::DELETE, &path, None, 204).await;
        let gone = server
            .send(Method::GET, &path, Some(&server.admin), None)
            .await;
        assert_eq!(problem(gone, 404).await["code"], "not_found");
        let ids = schedule_ids(&server, "from=2027-03-01&to=2027-03-31").await;
        assert_eq!(ids, Vec::<i64>::new(), "{}", server.store);
    }
}

#[tokio::test]
async fn agents_read_the_schedule_and_only_admins_change_it() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let entry = format!("/api/v1/schedule/entries/{existing}");
        let reads = [
            "/api/v1/schedule?from=2027-03-01&to=2027-03-01",
            entry.as_str(),
        ];
        for path in reads {
            let answers = server.refusals(Method::GET, path, None).await;
            assert_eq!(answers, refused_for_readers(), "{} {path}", server.store);
        }

        let batch = json!({
            "shift": early, "dates": { "first": "2027-03-02", "last": "2027-03-02" },
            "agents": agents,
        });
        let path = "/api/v1/schedule/assignments";
        let answers = server.refusals(Method::POST, path, Some(batch)).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
        let to = json!({ "agent": agents[0], "shift": early, "date": "2027-03-02" });
        let answers = server.refusals(Method::PATCH, &entry, Some(to)).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
        let answers = server.refusals(Method::DELETE, &entry, None).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);

        let ids = schedule_ids(&server, "from=2027-03-01&to=2027-03-31").await;
        assert_eq!(ids, vec![existing], "nothing changed on {}", server.store);
        let kept = server.admin(Method::GET, &entry, None, 200).await;
        assert_eq!(kept["agent"], agents[1]);
    }
}

#[tokio::test]
async fn a_shift_in_use_is_not_removed() {
    for server in servers().await {
        let (_, early, _) = planned_team(&server).await;
        let path = format!("/api/v1/shifts/{early}");
        let response = server
            .send(Method::DELETE, &path, Some(&server.admin), None)
            .await;
        assert_eq!(problem(response, 409).await["code"], "shift_in_use");
        let list = server.admin(Method::GET, "/api/v1/shifts", None, 200).await;
        assert_eq!(list[0]["id"], early, "{}", server.store);
    }
}

#[tokio::test]
async fn bad_schedule_reads_are_refused_naming_the_parameter() {
    let cases = [
        ("from=2027-03-10&to=2027-03-01", "to", "reversed_range"),
        ("from=2027-03-01&to=2027-05-02", "to", "out_of_range"),
        ("from=2027-3-1x&to=2027-03-01", "from", "invalid_value"),
        ("from=2027-03-01", "to", "missing_field"),
        (
            "from=2027-03-01&to=2027-03-01&agents=1,x",
            "agents[1]",
            "invalid_value",
        ),
        (
            "from=2027-03-01&to=2027-03-01&agent=1",
            "agent",
            "unknown_field",
        ),
    ];
    for server in servers().await {
        for (query, field, code) in cases {
            let path = format!("/api/v1/schedule?{query}");
            let response = server
                .send(Method::GET, &path, Some(&server.agent), None)
                .await;
            let body = problem(response, 422).await;
            assert_eq!(
                (&body["field"], &body["code"]),
                (&json!(field), &json!(code)),
                "{query}"
            );
        }
    }
}

#[tokio::test]
async fn bad_assignments_are_refused_naming_the_field() {
    for server in servers().await {
        let (agents, early, _) = planned_team(&server).await;
        let good = json!({
            "shift": early, "dates": { "first": "2027-03-02", "last": "2027-03-03" },
            "agents": [agents[0]],
        });
        let cases = [
            ("/dates/last", json!("2027-02-30"), "dates.last"),
            ("/dates/last", json!("2027-03-01"), "dates.last"),
            ("/weekdays", json!(["mon", "someday"]), "weekdays[1]"),
            ("/agents", json!([agents[0], 0]), "agents[1]"),
            ("/agents", json!([]), "agents"),
            ("/shift", json!(-3), "shift"),
            ("/colour", json!("red"), "colour"),
        ];
        for (pointer, value, field) in cases {
            let mut body = good.clone();
            match body.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => body[pointer.trim_start_matches('/')] = value,
            }
            let response = server
                .send(
                    Method::POST,
                    "/api/v1/schedule/assignments",
                    Some(&server.admin),
                    Some(body),
                )
                .await;
            let body = problem(response, 422).await;
            assert_eq!(body["field"], field, "{} {pointer}: {body}", server.store);
        }

        let mut unknown = good.clone();
        unknown["shift"] = json!(early + 100);
        let response = server
            .send(
                Method::POST,
                "/api/v1/schedule/assignments",
                Some(&server.admin),
                Some(unknown),
            )
            .await;
        let body = problem(response, 409).await;
        assert_eq!(body["conflicts"][0]["reason"]["code"], "unknown_shift");
        assert_eq!(body["conflicts"].as_array().map(Vec::len), Some(2));

        let malformed = server
            .client
            .post(server.url("/api/v1/schedule/assignments"))
            .bearer_auth(&server.admin)
            .header("content-type", "application/json")
            .body("{\"shift\": 1,")
            .send()
            .await
            .expect("answer");
        assert_eq!(problem(malformed, 400).await["code"], "malformed_json");
        let ids = schedule_ids(&server, "from=2027-03-02&to=2027-03-03").await;
        assert_eq!(ids, Vec::<i64>::new(), "{}", server.store);

        let missing = "/api/v1/schedule/entries/999";
        let to = json!({ "agent": agents[0], "shift": early, "date": "2027-03-02" });
        let response = server
            .send(Method::PATCH, missing, Some(&server.admin), Some(to))
            .await;
        assert_eq!(problem(response, 404).await["code"], "not_found");
        let bad_date = json!({ "agent": agents[0], "shift": early, "date": "tomorrow" });
        let path = "/api/v1/schedule/entries/1";
        let response = server
            .send(Method::PATCH, path, Some(&server.admin), Some(bad_date))
            .await;
        assert_eq!(problem(response, 422).await["field"], "date");
    }
}

#[tokio::test]
async fn an_assignment_appears_in_the_audit_log_with_its_request_id() {
    for server in servers().await {
        let mei = server.create_agent("ana").await;
        let early = server.create_shift("early", "06:00", "14:00").await;
        let batch = json!({
            "shift": early, "dates": { "first": "2027-03-01", "last": "2027-03-02" },
            "agents": [mei],
        });
        let response = server
            .client
            .post(server.url("/api/v1/schedule/assignments"))
            .bearer_auth(&server.admin)
            .header("x-request-id", "assign-7")
            .json(&batch)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::CREATED, "{}", server.store);
        let written: Value = response.json().await.expect("json");

        let path = "/api/v1/audit?subject=schedule";
        let response = server
            .send(Method::GET, path, Some(&server.admin), None)
            .await;
        assert!(!response.headers().contains_key("link"), "a single page");
        let page: Value = response.json().await.expect("json");
        let records = page.as_array().expect("records");
        assert_eq!(records.len(), 1, "{} {page}", server.store);
        let record = &records[0];
        assert_eq!(record["action"], "entries_assigned");
        assert_eq!(record["request_id"], "assign-7", "{}", server.store);
        assert_eq!(record["actor"]["kind"], "staff", "{record}");
        let groups = record["after"]["groups"].as_array().expect("groups");
        let logged: Vec<(Value, Value)> = groups
            .iter()
            .flat_map(|group| group["entries"].as_array().expect("entries").iter())
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        let created: Vec<(Value, Value)> = written["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|entry| (entry["id"].clone(), entry["agent"].clone()))
            .collect();
        assert_eq!(logged, created, "{}", server.store);
        assert_eq!(created.len(), 2);
    }
}

#[tokio::test]
async fn the_audit_log_is_read_a_page_at_a_time_by_admins_only() {
    for server in servers().await {
        server.create_shift("early", "06:00", "14:00").await;
        server.create_shift("late", "14:00", "22:00").await;
        let mut seen = Vec::new();
        let mut path = "/api/v1/audit?limit=1".to_owned();
        loop {
            let response = server
                .send(Method::GET, &path, Some(&server.admin), None)
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{} {path}", server.store);
            let next = response.headers().get("link").map(|link| {
                let link = link.to_str().expect("ascii");
                let url = link.strip_prefix('<').and_then(|l| l.split_once('>'));
                url.expect("a link to a URL").0.to_owned()
            });
            let page: Value = response.json().await.expect("json");
            let records = page.as_array().expect("records");
            assert!(records.len() <= 1, "{} {page}", server.store);
            seen.extend(
                records
                    .iter()
                    .map(|r| (r["id"].clone(), r["action"].clone())),
            );
            match next {
                Some(next) => path = next,
                None => break,
            }
        }
        // The first admin's creation, two agents, two shift templates and the logins, newest
        // first, each once.
        let ids: Vec<i64> = seen
            .iter()
            .map(|(id, _)| id.as_i64().expect("id"))
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
        let actions: Vec<&str> = seen
            .iter()
            .map(|(_, a)| a.as_str().expect("text"))
            .collect();
        assert_eq!(
            &actions[..2],
            ["shift_created", "shift_created"],
            "{}",
            server.store
        );
        assert!(actions.contains(&"agent_created"), "{actions:?}");

        let stale = "/api/v1/audit?cursor=bm90LWEtY3Vyc29y";
        let refused = server
            .send(Method::GET, stale, Some(&server.admin), None)
            .await;
        let refused = problem(refused, 422).await;
        assert_eq!(refused["code"], "invalid_cursor", "{}", server.store);

        let answers = server.refusals(Method::GET, "/api/v1/audit", None).await;
        assert_eq!(answers, refused_for_changers(), "{}", server.store);
    }
}

#[tokio::test]
async fn bad_audit_queries_are_refused_naming_the_parameter() {
    let cases = [
        ("limit=0", "limit", "out_of_range"),
        ("limit=5000", "limit", "out_of_range"),
        ("limit=many", "limit", "invalid_value"),
        ("subject=planet:3", "subject", "invalid_value"),
        ("subject=shift", "subject", "invalid_value"),
        ("actor=-1", "actor", "out_of_range"),
        ("page=2", "page", "unknown_field"),
        ("cursor=42", "cursor", "invalid_cursor"),
    ];
    for server in servers().await {
        for (query, field, code) in cases {
            let path = format!("/api/v1/audit?{query}");
            let response = server
                .send(Method::GET, &path, Some(&server.admin), None)
                .await;
            let body = problem(response, 422).await;
            assert_eq!(
                (&body["field"], &body["code"]),
                (&json!(field), &json!(code)),
                "{query}"
            );
        }
    }
}

#[tokio::test]
async fn a_move_onto_other_work_is_refused_with_the_conflict_and_changes_nothing() {
    for server in servers().await {
        let (agents, early, existing) = planned_team(&server).await;
        let one = json!({
            "shift": early, "dates": { "first": "2027-03-02", "last": "2027-03-02" },
            "agents": [agents[0]],
        });
        let written = server
            .admin(Method::POST, "/api/v1/schedule/assignments", Some(one), 201)
            .await;
        let path = format!("/api/v1/schedule/entries/{}", written["entries"][0]["id"]);

        let onto = json!({ "agent": agents[1], "shift": early, "date": "2027-03-01" });
        let response = server
            .send(Method::PATCH, &path, Some(&server.admin), Some(onto))
            .await;
        let body = problem(response, 409).await;
        assert_eq!(body["code"], "schedule_conflicts", "{}", server.store);
        let conflicts = body["conflicts"].as_array().expect("conflicts");
        assert_eq!(conflicts.len(), 1, "{body}");
        assert_eq!(conflicts[0]["reason"]["with"]["entry"], existing);

        let unchanged = server.admin(Method::GET, &path, None, 200).await;
        assert_eq!(unchanged, written["entries"][0], "{}", server.store);
    }
}
