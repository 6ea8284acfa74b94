//! Conversations end to end: customers open and write, agents take, answer, hand over and
//! close them, everyone reads only what they may, lists page by cursor, and exports stream
//! and are audited, over the real server on port 0 and each store (memory and SQLite always,
//! PostgreSQL when `SHIFTDESK_TEST_DATABASE_URL` names a server).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{TestServer, problem, servers};

const CONVERSATIONS: &str = "/api/v1/conversations";

impl TestServer {
    /// `customer` opens a conversation with a first message; returns its id.
    async fn open(&self, customer: &str, text: &str) -> i64 {
        static OPENED: AtomicU64 = AtomicU64::new(1);
        let client_id = format!("c-{}", OPENED.fetch_add(1, Ordering::Relaxed));
        let body =
            json!({ "topic": "refund", "message": { "client_id": client_id, "body": text } });
        let opened = self
            .expect(customer, Method::POST, CONVERSATIONS, Some(body), 201)
            .await;
        assert_eq!(opened["status"]["state"], "open", "{}", self.store);
        opened["id"].as_i64().expect("id")
    }

    /// `agent` takes conversation `id` from the queue.
    async fn take(&self, agent: &str, id: i64) {
        let path = format!("{CONVERSATIONS}/{id}/take");
        self.expect(agent, Method::POST, &path, None, 200).await;
    }

    /// `token` writes `text` of `kind` into conversation `id`; returns the stored message.
    async fn write(&self, token: &str, id: i64, kind: &str, text: &str) -> Value {
        let path = format!("{CONVERSATIONS}/{id}/messages");
        let body = json!({ "kind": kind, "body": text });
        self.expect(token, Method::POST, &path, Some(body), 201)
            .await
    }

    /// The bodies of the messages `token` reads in conversation `id`.
    async fn bodies(&self, token: &str, id: i64) -> Vec<String> {
        let path = format!("{CONVERSATIONS}/{id}/messages");
        let messages = self.expect(token, Method::GET, &path, None, 200).await;
        let messages = messages.as_array().expect("list").iter();
        messages
            .map(|m| m["body"].as_str().expect("body").to_owned())
            .collect()
    }

    /// The ids `token` lists at `path`, following every `Link` to the next page.
    async fn all_pages(&self, token: &str, path: &str) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut path = path.to_owned();
        loop {
            let response = self.send(Method::GET, &path, Some(token), None).await;
            assert_eq!(response.status(), StatusCode::OK, "{} {path}", self.store);
            let next = response.headers().get("link").map(|link| {
                let link = link.to_str().expect("ascii");
                let url = link.strip_prefix('<').and_then(|l| l.split_once('>'));
                url.expect("a link to a URL").0.to_owned()
            });
            let page: Value = response.json().await.expect("json");
            let page = page.as_array().expect("list").iter();
            ids.extend(page.map(|s| s["conversation"]["id"].as_i64().expect("id")));
            match next {
                Some(next) => path = next,
                None => return ids,
            }
        }
    }

    /// The export `token` gets for `query`, with its content type.
    async fn export(&self, token: &str, query: &str) -> (String, String) {
        let path = format!("{CONVERSATIONS}/export?{query}");
        let response = self.send(Method::GET, &path, Some(token), None).await;
        assert_eq!(response.status(), StatusCode::OK, "{} {path}", self.store);
        let content_type = response.headers()["content-type"].to_str().expect("ascii");
        let content_type = content_type.to_owned();
        (response.text().await.expect("text"), content_type)
    }
}

#[tokio::test]
async fn a_retried_opening_answers_the_conversation_the_first_try_opened() {
    for server in servers().await {
        let body = json!({ "topic": "refund", "message": { "client_id": "w-1", "body": "hi" } });
        let first = server
            .expect(
                &server.customer,
                Method::POST,
                CONVERSATIONS,
                Some(body.clone()),
                201,
            )
            .await;
        let again = server
            .expect(
                &server.customer,
                Method::POST,
                CONVERSATIONS,
                Some(body.clone()),
                200,
            )
            .await;
        assert_eq!(again["id"], first["id"], "{}", server.store);
        let path = format!("{CONVERSATIONS}/{}/messages", first["id"]);
        let messages = server
            .expect(&server.customer, Method::GET, &path, None, 200)
            .await;
        let bodies: Vec<&str> = messages
            .as_array()
            .expect("messages")
            .iter()
            .filter(|message| message["sender_type"] == "customer")
            .filter_map(|message| message["body"].as_str())
            .collect();
        assert_eq!(bodies, ["hi"], "{}", server.store);

        // Another client id, or another customer with the same one, opens a new conversation.
        let other = json!({ "topic": "refund", "message": { "client_id": "w-2", "body": "hi" } });
        let second = server
            .expect(
                &server.customer,
                Method::POST,
                CONVERSATIONS,
                Some(other),
                201,
            )
            .await;
        assert_ne!(second["id"], first["id"], "{}", server.store);
        let stranger = server.anonymous_customer().await;
        let theirs = server
            .expect(&stranger, Method::POST, CONVERSATIONS, Some(body), 201)
            .await;
        assert_ne!(theirs["id"], first["id"], "{}", server.store);
    }
}

#[tokio::test]
async fn a_customer_and_an_agent_talk_and_the_customer_never_sees_notes() {
    for server in servers().await {
        let id = server.open(&server.customer, "我想退票").await;
        server.take(&server.agent, id).await;
        let reply = server
            .write(&server.agent, id, "message", "Hello, I can help")
            .await;
        assert_eq!(reply["sender_type"], "agent", "{}", server.store);
        assert_eq!(reply["sender_id"], server.agent_id);
        server
            .write(&server.agent, id, "note", "refund over 100, ask Ben")
            .await;

        let staff = server.bodies(&server.agent, id).await;
        let customer = server.bodies(&server.customer, id).await;
        assert!(
            staff.contains(&"refund over 100, ask Ben".to_owned()),
            "{staff:?}"
        );
        assert!(customer.contains(&"Hello, I can help".to_owned()));
        assert!(
            !customer.iter().any(|body| body.contains("ask Ben")),
            "{customer:?}"
        );
        assert_eq!(customer.first().map(String::as_str), Some("我想退票"));

        // A customer's note is refused; a retry under a known client id answers the first.
        let path = format!("{CONVERSATIONS}/{id}/messages");
        let note = json!({ "kind": "note", "body": "let me see" });
        let refused = server
            .send(Method::POST, &path, Some(&server.customer), Some(note))
            .await;
        assert_eq!(refused.status().as_u16(), 403, "{}", server.store);
        let first = server
            .expect(&server.customer, Method::GET, &path, None, 200)
            .await;
        let retry = json!({ "client_id": first[0]["client_id"], "body": "我想退票 (again)" });
        let again = server
            .expect(&server.customer, Method::POST, &path, Some(retry), 200)
            .await;
        assert_eq!(
            (again["seq"].as_u64(), again["body"].as_str()),
            (Some(1), Some("我想退票"))
        );
    }
}

#[tokio::test]
async fn messages_are_read_after_a_sequence_number_or_a_page_before_one() {
    for server in servers().await {
        let id = server.open(&server.customer, "one").await;
        server.take(&server.agent, id).await;
        for text in ["two", "three", "four", "five"] {
            server.write(&server.customer, id, "message", text).await;
        }
        let all = server.bodies(&server.customer, id).await;
        let at = |text: &str| all.iter().position(|body| body == text).expect("there");
        let seq_of_three = at("three") + 1;

        let path = format!("{CONVERSATIONS}/{id}/messages?after={seq_of_three}");
        let after = server
            .expect(&server.customer, Method::GET, &path, None, 200)
            .await;
        let after: Vec<&str> = after
            .as_array()
            .expect("list")
            .iter()
            .map(|m| m["body"].as_str().expect("body"))
            .collect();
        assert_eq!(after, ["four", "five"], "{}", server.store);

        let path = format!("{CONVERSATIONS}/{id}/messages?before={seq_of_three}&limit=1");
        let response = server
            .send(Method::GET, &path, Some(&server.customer), None)
            .await;
        let link = response.headers()["link"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let before: Value = response.json().await.expect("json");
        assert_eq!(before[0]["body"], "two", "{}", server.store);
        let older = seq_of_three - 1;
        assert!(link.contains(&format!("before={older}")), "{link}");
    }
}

#[tokio::test]
async fn the_list_pages_by_cursor_newest_first_and_each_conversation_once() {
    for server in servers().await {
        let mut opened = Vec::new();
        for n in 0..5 {
            let customer = server.anonymous_customer().await;
            opened.push(server.open(&customer, &format!("question {n}")).await);
        }
        let listed = server
            .all_pages(&server.admin, "/api/v1/conversations?limit=2")
            .await;
        opened.reverse();
        assert_eq!(listed, opened, "{}", server.store);

        let count = "/api/v1/conversations/count?status=open";
        let count = server
            .expect(&server.admin, Method::GET, count, None, 200)
            .await;
        assert_eq!(count["count"], 5, "{}", server.store);

        let found = "/api/v1/conversations?q=QUESTION%203";
        let found = server.all_pages(&server.admin, found).await;
        assert_eq!(found, [opened[1]], "{}", server.store);
    }
}

#[tokio::test]
async fn an_agent_reaches_only_the_conversations_they_hold_or_held() {
    for server in servers().await {
        let meis = server.open(&server.customer, "for Mei").await;
        server.take(&server.agent, meis).await;
        let stranger = server.anonymous_customer().await;
        let bens = server.open(&stranger, "for Ben").await;
        server.take(&server.other, bens).await;

        // Ben cannot read, write, transfer, mark read or close Mei's conversation: to him it
        // does not exist.
        let at = |tail: &str| format!("{CONVERSATIONS}/{meis}{tail}");
        let attempts = [
            (Method::GET, at(""), None),
            (Method::GET, at("/messages"), None),
            (Method::POST, at("/messages"), Some(json!({ "body": "hi" }))),
            (
                Method::POST,
                at("/transfer"),
                Some(json!({ "to": server.other_id })),
            ),
            (Method::PUT, at("/read"), Some(json!({ "seq": 1 }))),
        ];
        for (method, path, body) in attempts {
            for token in [&server.other, &stranger] {
                let response = server
                    .send(method.clone(), &path, Some(token), body.clone())
                    .await;
                let status = response.status().as_u16();
                assert_eq!(status, 404, "{} {method} {path}", server.store);
                let refused = problem(response, 404).await;
                assert_eq!(refused["code"], "not_found");
            }
        }
        let resolve = Some(json!({ "action": "resolve" }));
        let response = server
            .send(Method::POST, &at("/status"), Some(&server.other), resolve)
            .await;
        assert_eq!(problem(response, 404).await["code"], "not_found");
        // Customers change no conversation's status, their own included, so the refusal
        // tells the stranger nothing either.
        let own = format!("{CONVERSATIONS}/{bens}/status");
        for path in [at("/status"), own] {
            let body = Some(json!({ "action": "resolve" }));
            let response = server
                .send(Method::POST, &path, Some(&stranger), body)
                .await;
            assert_eq!(problem(response, 403).await["code"], "forbidden", "{path}");
        }

        // Nor does he list, find, count or export it.
        let listed = server.all_pages(&server.other, CONVERSATIONS).await;
        assert_eq!(listed, [bens], "{}", server.store);
        let found = server
            .all_pages(&server.other, "/api/v1/conversations?q=mei")
            .await;
        assert!(found.is_empty(), "{}", server.store);
        let count = "/api/v1/conversations/count";
        let count = server
            .expect(&server.other, Method::GET, count, None, 200)
            .await;
        assert_eq!(count["count"], 1, "{}", server.store);
        let (export, _) = server.export(&server.other, "format=jsonl").await;
        assert!(
            export.contains("for Ben") && !export.contains("for Mei"),
            "{export}"
        );

        // The admin sees both.
        let everything = server.all_pages(&server.admin, CONVERSATIONS).await;
        assert_eq!(everything, [bens, meis], "{}", server.store);
    }
}

#[tokio::test]
async fn a_transfer_carries_the_context_to_the_new_agent_and_the_old_one_keeps_reading() {
    for server in servers().await {
        let id = server
            .open(&server.customer, "my ticket was charged twice")
            .await;
        server.take(&server.agent, id).await;
        let path = format!("{CONVERSATIONS}/{id}/transfer");
        let body = json!({ "to": server.other_id, "note": "billing question" });
        let moved = server
            .expect(&server.agent, Method::POST, &path, Some(body), 200)
            .await;
        assert_eq!(moved["assignee"], server.other_id, "{}", server.store);

        let seen_by_ben = server.bodies(&server.other, id).await;
        let context = seen_by_ben.last().expect("the context note");
        assert!(context.contains("billing question"), "{context}");
        assert!(context.contains("my ticket was charged twice"), "{context}");

        let detail = format!("{CONVERSATIONS}/{id}");
        let for_mei = server
            .expect(&server.agent, Method::GET, &detail, None, 200)
            .await;
        assert_eq!(for_mei["transfers"][0]["note"], "billing question");
        let for_customer = server
            .expect(&server.customer, Method::GET, &detail, None, 200)
            .await;
        assert_eq!(
            for_customer["transfers"][0]["note"],
            Value::Null,
            "{}",
            server.store
        );
        assert!(
            !server
                .bodies(&server.customer, id)
                .await
                .iter()
                .any(|b| b.contains("billing"))
        );

        // Mei no longer holds it: she reads it but cannot move it again.
        let again = json!({ "to": server.agent_id });
        let refused = server
            .send(Method::POST, &path, Some(&server.agent), Some(again))
            .await;
        assert_eq!(
            problem(refused, 403).await["code"],
            "not_holder",
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn the_holder_resolves_snoozes_and_reopens_and_read_positions_only_move_forward() {
    for server in servers().await {
        let id = server.open(&server.customer, "hello").await;
        server.take(&server.agent, id).await;
        server
            .write(&server.customer, id, "message", "still there?")
            .await;
        // The customer's two messages and the note that Mei joined.
        let last = server.bodies(&server.agent, id).await.len() as u64;
        assert_eq!(last, 3, "{}", server.store);
        let read = format!("{CONVERSATIONS}/{id}/read");
        let position = server
            .expect(
                &server.agent,
                Method::PUT,
                &read,
                Some(json!({ "seq": 2 })),
                200,
            )
            .await;
        assert_eq!(
            position,
            json!({ "read_up_to": 2, "unread": 1 }),
            "{}",
            server.store
        );
        let back = server
            .expect(
                &server.agent,
                Method::PUT,
                &read,
                Some(json!({ "seq": 1 })),
                200,
            )
            .await;
        assert_eq!(back["read_up_to"], 2, "{}", server.store);
        let past = server
            .expect(
                &server.agent,
                Method::PUT,
                &read,
                Some(json!({ "seq": 99 })),
                200,
            )
            .await;
        assert_eq!(
            past,
            json!({ "read_up_to": 3, "unread": 0 }),
            "{}",
            server.store
        );

        let status = format!("{CONVERSATIONS}/{id}/status");
        let snooze = json!({ "action": "snooze", "until": "2099-01-01T09:00:00Z" });
        let snoozed = server
            .expect(&server.agent, Method::POST, &status, Some(snooze), 200)
            .await;
        assert_eq!(snoozed["status"]["state"], "snoozed", "{}", server.store);
        let resolve = json!({ "action": "resolve" });
        let resolved = server
            .expect(&server.agent, Method::POST, &status, Some(resolve), 200)
            .await;
        assert_eq!(resolved["status"]["state"], "resolved");
        let reply = json!({ "body": "one more thing" });
        let messages = format!("{CONVERSATIONS}/{id}/messages");
        let refused = server
            .send(Method::POST, &messages, Some(&server.agent), Some(reply))
            .await;
        assert_eq!(refused.status().as_u16(), 409, "{}", server.store);

        let reopen = json!({ "action": "reopen" });
        let reopened = server
            .expect(&server.admin, Method::POST, &status, Some(reopen), 200)
            .await;
        assert_eq!(reopened["status"]["state"], "open", "{}", server.store);

        // A customer does not change status.
        let refused = server
            .send(
                Method::POST,
                &status,
                Some(&server.customer),
                Some(json!({ "action": "resolve" })),
            )
            .await;
        assert_eq!(refused.status().as_u16(), 403, "{}", server.store);
    }
}

#[tokio::test]
async fn an_export_streams_csv_or_json_lines_and_is_audited_with_its_request_id() {
    for server in servers().await {
        let id = server.open(&server.customer, "Zahlung, \"doppelt\"").await;
        server.take(&server.agent, id).await;
        server.write(&server.agent, id, "note", "internal").await;

        let (csv, content_type) = server.export(&server.admin, "format=csv").await;
        assert_eq!(content_type, "text/csv; charset=utf-8", "{}", server.store);
        let mut lines = csv.lines();
        let header = lines.next().expect("a header");
        assert!(header.starts_with("conversation_id,"), "{header}");
        assert!(
            csv.contains("\"Zahlung, \"\"doppelt\"\"\""),
            "quoted: {csv}"
        );
        assert!(csv.contains("internal"), "staff exports hold notes: {csv}");

        let (jsonl, content_type) = server.export(&server.customer, "format=jsonl").await;
        assert_eq!(content_type, "application/x-ndjson");
        let lines: Vec<Value> = jsonl
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 1, "{}", server.store);
        assert!(
            !jsonl.contains("internal"),
            "customers get no notes: {jsonl}"
        );

        let response = server
            .client
            .get(server.url("/api/v1/conversations/export?format=csv&status=open"))
            .bearer_auth(&server.admin)
            .header("x-request-id", "export-9")
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.expect("the export");
        let path = "/api/v1/audit?subject=conversations";
        let records = server
            .expect(&server.admin, Method::GET, path, None, 200)
            .await;
        let records = records.as_array().expect("records");
        let latest = &records[0];
        assert_eq!(
            latest["action"], "conversations_exported",
            "{}",
            server.store
        );
        assert_eq!(latest["request_id"], "export-9", "{}", server.store);
        assert_eq!(latest["after"]["format"], "csv");
        assert_eq!(latest["after"]["filter"]["statuses"], json!(["open"]));
        assert_eq!(
            records.len(),
            3,
            "every export is recorded: {}",
            server.store
        );
    }
}

#[tokio::test]
async fn bad_conversation_requests_are_refused_naming_the_field() {
    for server in servers().await {
        let id = server.open(&server.customer, "hello").await;
        let reads = [
            ("?status=closed", "status", "invalid_value"),
            ("?assignee=someone", "assignee", "invalid_value"),
            ("?customer=0", "customer", "out_of_range"),
            ("?from=2027-01-01T00:00:00Z", "time_field", "invalid_value"),
            (
                "?time_field=created_at&from=yesterday",
                "from",
                "invalid_value",
            ),
            (
                "?time_field=created_at&from=2027-02-01T00:00:00Z&until=2027-01-01T00:00:00Z",
                "until",
                "invalid_value",
            ),
            ("?q=", "q", "empty"),
            ("?limit=501", "limit", "out_of_range"),
            ("?cursor=bm9wZQ", "cursor", "invalid_cursor"),
            ("?page=2", "page", "unknown_field"),
        ];
        for (query, field, code) in reads {
            let path = format!("{CONVERSATIONS}{query}");
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
        let response = server
            .send(
                Method::GET,
                "/api/v1/conversations?assignee=me",
                Some(&server.customer),
                None,
            )
            .await;
        assert_eq!(problem(response, 422).await["field"], "assignee");
        let response = server
            .send(
                Method::GET,
                "/api/v1/conversations/export",
                Some(&server.admin),
                None,
            )
            .await;
        assert_eq!(problem(response, 422).await["field"], "format");

        let messages = format!("{CONVERSATIONS}/{id}/messages");
        let writes = [
            (json!({ "body": "" }), "body"),
            (json!({ "body": "x".repeat(20_000) }), "body"),
            (json!({ "body": "hi", "kind": "shout" }), "kind"),
            (json!({ "body": "hi", "client_id": "" }), "client_id"),
            (json!({ "body": 7 }), "body"),
            (json!({ "text": "hi" }), "text"),
        ];
        for (body, field) in writes {
            let response = server
                .send(
                    Method::POST,
                    &messages,
                    Some(&server.customer),
                    Some(body.clone()),
                )
                .await;
            let refused = problem(response, 422).await;
            assert_eq!(refused["field"], field, "{} {body}", server.store);
        }
        let response = server
            .client
            .post(server.url(&messages))
            .bearer_auth(&server.customer)
            .header("content-type", "application/json")
            .body("{\"body\": ")
            .send()
            .await
            .expect("answer");
        problem(response, 400).await;

        let status = format!("{CONVERSATIONS}/{id}/status");
        let cases = [
            (json!({ "action": "close" }), "action"),
            (json!({ "action": "snooze" }), "until"),
            (json!({ "action": "snooze", "until": "soon" }), "until"),
            (
                json!({ "action": "resolve", "until": "2099-01-01T00:00:00Z" }),
                "until",
            ),
        ];
        for (body, field) in cases {
            let response = server
                .send(
                    Method::POST,
                    &status,
                    Some(&server.admin),
                    Some(body.clone()),
                )
                .await;
            let refused = problem(response, 422).await;
            assert_eq!(refused["field"], field, "{} {body}", server.store);
        }
        for path in [
            "/api/v1/conversations/abc",
            "/api/v1/conversations/0",
            "/api/v1/conversations/99999",
        ] {
            let response = server
                .send(Method::GET, path, Some(&server.admin), None)
                .await;
            assert_eq!(problem(response, 404).await["code"], "not_found", "{path}");
        }
        let response = server
            .send(
                Method::PUT,
                &format!("{CONVERSATIONS}/{id}/read"),
                Some(&server.admin),
                Some(json!({ "seq": 0 })),
            )
            .await;
        assert_eq!(problem(response, 422).await["field"], "seq");
    }
}
