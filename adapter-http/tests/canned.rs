//! Canned replies end to end: what each caller sees, who manages which, lookup and rendering,
//! over the real server on port 0 and each store (memory and SQLite always, PostgreSQL when
//! `SHIFTDESK_TEST_DATABASE_URL` names a server).

mod common;

use common::{TestServer, problem, servers};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shiftdesk_core::ids::ConversationId;

impl TestServer {
    /// Creates a canned reply with `token`; returns it.
    async fn create_reply(&self, token: &str, shortcode: &str, title: &str, public: bool) -> Value {
        let body = json!({
            "shortcode": shortcode, "title": title, "body": "Hello {{customer.name}}",
            "public": public,
        });
        let path = "/api/v1/canned-replies";
        self.expect(token, Method::POST, path, Some(body), 201)
            .await
    }

    /// The ids of the replies `token` lists at `path`.
    async fn listed(&self, token: &str, path: &str) -> Vec<i64> {
        let listed = self.expect(token, Method::GET, path, None, 200).await;
        let listed = listed.as_array().expect("list").iter();
        listed
            .map(|reply| reply["id"].as_i64().expect("id"))
            .collect()
    }

    /// A conversation opened by the customer 李伟 and taken by Mei.
    async fn meis_conversation(&self) -> ConversationId {
        self.taken_conversation("crm-7", self.agent_id).await
    }
}

const REPLIES: &str = "/api/v1/canned-replies";

#[tokio::test]
async fn an_agent_sees_their_own_replies_with_the_public_ones_and_never_another_agents() {
    for server in servers().await {
        let public = server
            .create_reply(&server.admin, "hello", "Hello", true)
            .await;
        let own = server
            .create_reply(&server.agent, "refund", "Refund", false)
            .await;
        assert_eq!(own["public"], false, "{}", server.store);
        assert_eq!(own["owner"], server.agent_id);
        assert_eq!(public["public"], true);
        let (public_id, own_id) = (public["id"].as_i64(), own["id"].as_i64());
        let (public_id, own_id) = (public_id.expect("id"), own_id.expect("id"));

        let for_mei = server.listed(&server.agent, REPLIES).await;
        assert_eq!(for_mei, [public_id, own_id], "{}", server.store);
        let for_ben = server.listed(&server.other, REPLIES).await;
        assert_eq!(for_ben, [public_id], "{}", server.store);

        let path = format!("{REPLIES}/{own_id}");
        let read = server
            .expect(&server.agent, Method::GET, &path, None, 200)
            .await;
        assert_eq!(read, own, "{}", server.store);
        let calls = [
            (Method::GET, None),
            (Method::PATCH, Some(json!({ "title": "Mine now" }))),
            (Method::DELETE, None),
        ];
        for (method, body) in calls {
            let response = server.send(method, &path, Some(&server.other), body).await;
            assert_eq!(problem(response, 404).await["code"], "not_found", "{path}");
        }
        let still = server
            .expect(&server.agent, Method::GET, &path, None, 200)
            .await;
        assert_eq!(still["title"], "Refund", "{}", server.store);
    }
}

#[tokio::test]
async fn a_personal_shortcode_shadows_a_public_one_for_its_owner_only() {
    for server in servers().await {
        let public = server
            .create_reply(&server.admin, "hello", "Team hello", true)
            .await;
        let own = server
            .create_reply(&server.agent, "hello", "Mei's hello", false)
            .await;

        let for_mei = server.listed(&server.agent, REPLIES).await;
        assert_eq!(
            for_mei,
            [own["id"].as_i64().expect("id")],
            "{}",
            server.store
        );
        let for_ben = server.listed(&server.other, REPLIES).await;
        assert_eq!(for_ben, [public["id"].as_i64().expect("id")]);
        let looked_up = server
            .listed(&server.agent, &format!("{REPLIES}?prefix=hello"))
            .await;
        assert_eq!(looked_up, for_mei, "{}", server.store);

        // The shortcode is taken within each scope, not across them.
        for (token, public) in [(&server.agent, false), (&server.admin, true)] {
            let body = json!({
                "shortcode": "HELLO", "title": "Again", "body": "Hi", "public": public,
            });
            let response = server
                .send(Method::POST, REPLIES, Some(token), Some(body))
                .await;
            let refused = problem(response, 409).await;
            assert_eq!(refused["code"], "shortcode_taken", "{}", server.store);
            assert_eq!(refused["field"], "shortcode");
        }
        let other = server
            .create_reply(&server.agent, "bye", "Bye", false)
            .await;
        let path = format!("{REPLIES}/{}", other["id"]);
        let body = json!({ "shortcode": "hello" });
        let response = server
            .send(Method::PATCH, &path, Some(&server.agent), Some(body))
            .await;
        assert_eq!(problem(response, 409).await["code"], "shortcode_taken");
    }
}

#[tokio::test]
async fn a_prefix_lookup_ranks_the_exact_shortcode_before_prefix_matches() {
    for server in servers().await {
        let admin = &server.admin;
        let policy = server
            .create_reply(admin, "refund-policy", "Policy", true)
            .await;
        let thanks = server
            .create_reply(admin, "thanks", "Refund done", true)
            .await;
        let exact = server.create_reply(admin, "refund", "Refund", true).await;
        server.create_reply(admin, "hello", "Greeting", true).await;
        let body = json!({
            "shortcode": "refund-late", "title": "Late refund", "body": "Sorry",
            "category": "billing",
        });
        let late = server
            .expect(&server.agent, Method::POST, REPLIES, Some(body), 201)
            .await;
        let id = |reply: &Value| reply["id"].as_i64().expect("id");

        let found = server
            .listed(&server.agent, &format!("{REPLIES}?prefix=Refund"))
            .await;
        let ranked = [id(&exact), id(&late), id(&policy), id(&thanks)];
        assert_eq!(found, ranked, "{}", server.store);
        let path = format!("{REPLIES}?prefix=refund&category=billing");
        let billing = server.listed(&server.agent, &path).await;
        assert_eq!(billing, [id(&late)], "{}", server.store);
        let path = format!("{REPLIES}?category=billing");
        let billing = server.listed(&server.agent, &path).await;
        assert_eq!(billing, [id(&late)], "{}", server.store);
    }
}

#[tokio::test]
async fn agents_manage_their_own_replies_and_only_admins_the_public_ones() {
    for server in servers().await {
        let body = json!({ "shortcode": "hello", "title": "Hi", "body": "Hi", "public": true });
        let response = server
            .send(Method::POST, REPLIES, Some(&server.agent), Some(body))
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );
        assert_eq!(
            server.listed(&server.admin, REPLIES).await,
            Vec::<i64>::new()
        );

        let public = server
            .create_reply(&server.admin, "hello", "Hello", true)
            .await;
        let path = format!("{REPLIES}/{}", public["id"]);
        let calls = [
            (Method::PATCH, Some(json!({ "title": "Mei's now" }))),
            (Method::DELETE, None),
        ];
        for (method, body) in calls {
            let response = server.send(method, &path, Some(&server.agent), body).await;
            assert_eq!(problem(response, 403).await["code"], "forbidden", "{path}");
        }
        let body = json!({ "title": "Welcome", "category": "greetings" });
        let changed = server
            .expect(&server.admin, Method::PATCH, &path, Some(body), 200)
            .await;
        assert_eq!(changed["title"], "Welcome", "{}", server.store);
        assert_eq!(changed["category"], "greetings");
        let read = server
            .expect(&server.agent, Method::GET, &path, None, 200)
            .await;
        assert_eq!(read, changed, "{}", server.store);

        let own = server
            .create_reply(&server.agent, "bye", "Bye", false)
            .await;
        let own_path = format!("{REPLIES}/{}", own["id"]);
        let body = json!({ "body": "Bye {{customer.name}}", "category": null });
        let changed = server
            .expect(&server.agent, Method::PATCH, &own_path, Some(body), 200)
            .await;
        assert_eq!(changed["body"], "Bye {{customer.name}}", "{}", server.store);
        assert_eq!(changed["category"], Value::Null);
        let response = server
            .send(Method::DELETE, &own_path, Some(&server.agent), None)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::NO_CONTENT,
            "{}",
            server.store
        );
        let response = server
            .send(Method::GET, &own_path, Some(&server.agent), None)
            .await;
        assert_eq!(problem(response, 404).await["code"], "not_found");
    }
}

#[tokio::test]
async fn rendering_fills_the_variables_and_an_unknown_variable_is_refused_naming_it() {
    for server in servers().await {
        let conversation = server.meis_conversation().await;
        let body = json!({
            "shortcode": "sign-off", "title": "Sign off", "public": true,
            "body": "Thanks {{customer.name}}, {{ agent.name }} here (#{{conversation.id}}).",
        });
        let reply = server
            .expect(&server.admin, Method::POST, REPLIES, Some(body), 201)
            .await;
        let path = format!("{REPLIES}/{}/render", reply["id"]);
        let body = json!({ "conversation": conversation.get() });

        let rendered = server
            .expect(&server.agent, Method::POST, &path, Some(body.clone()), 200)
            .await;
        let text = format!("Thanks 李伟, mei here (#{conversation}).");
        assert_eq!(rendered, json!({ "text": text }), "{}", server.store);
        // Ben does not handle the conversation, and a customer renders nothing.
        let response = server
            .send(Method::POST, &path, Some(&server.other), Some(body.clone()))
            .await;
        assert_eq!(
            problem(response, 404).await["code"],
            "not_found",
            "{}",
            server.store
        );
        let response = server
            .send(Method::POST, &path, Some(&server.customer), Some(body))
            .await;
        assert_eq!(
            problem(response, 403).await["code"],
            "forbidden",
            "{}",
            server.store
        );

        let body = json!({
            "shortcode": "dear", "title": "Dear", "body": "Dear {{customer.title}}",
        });
        let response = server
            .send(Method::POST, REPLIES, Some(&server.agent), Some(body))
            .await;
        let refused = problem(response, 422).await;
        assert_eq!(refused["code"], "unknown_variable", "{}", server.store);
        assert_eq!(refused["field"], "body");
        let detail = refused["detail"].as_str().expect("detail");
        assert!(detail.contains("customer.title"), "{detail}");
        let edit = format!("{REPLIES}/{}", reply["id"]);
        let body = json!({ "body": "Hi {{agent.title}}" });
        let response = server
            .send(Method::PATCH, &edit, Some(&server.admin), Some(body))
            .await;
        let refused = problem(response, 422).await;
        assert_eq!(refused["code"], "unknown_variable", "{}", server.store);
        let detail = refused["detail"].as_str().expect("detail");
        assert!(detail.contains("agent.title"), "{detail}");
    }
}

#[tokio::test]
async fn customers_and_callers_without_a_token_are_refused() {
    for server in servers().await {
        let public = server
            .create_reply(&server.admin, "hello", "Hello", true)
            .await;
        let path = format!("{REPLIES}/{}", public["id"]);
        let body = json!({ "shortcode": "mine", "title": "Mine", "body": "Hi" });
        // Customers may not list or create replies, and see none by id.
        let title = json!({ "title": "Mine" });
        let calls = [
            (Method::GET, REPLIES.to_owned(), None, 403, "forbidden"),
            (
                Method::POST,
                REPLIES.to_owned(),
                Some(body),
                403,
                "forbidden",
            ),
            (Method::GET, path.clone(), None, 404, "not_found"),
            (Method::PATCH, path.clone(), Some(title), 404, "not_found"),
            (Method::DELETE, path.clone(), None, 404, "not_found"),
        ];
        for (method, path, body, status, expected) in calls {
            let response = server.send(method.clone(), &path, None, body.clone()).await;
            let code = problem(response, 401).await["code"].clone();
            assert_eq!(code, "unauthorized", "{method} {path}");
            let response = server
                .send(method.clone(), &path, Some(&server.customer), body)
                .await;
            let code = problem(response, status).await["code"].clone();
            assert_eq!(code, expected, "{method} {path}");
        }
        let still = server
            .expect(&server.admin, Method::GET, &path, None, 200)
            .await;
        assert_eq!(still, public, "{}", server.store);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field() {
    for server in servers().await {
        let reply = server
            .create_reply(&server.agent, "hello", "Hello", false)
            .await;
        let path = format!("{REPLIES}/{}", reply["id"]);
        let render = format!("{path}/render");
        let cases = [
            (
                Method::POST,
                REPLIES.to_owned(),
                json!({ "shortcode": "Bad Code!", "title": "T", "body": "B" }),
                "shortcode",
            ),
            (
                Method::POST,
                REPLIES.to_owned(),
                json!({ "shortcode": "ok", "title": " ", "body": "B" }),
                "title",
            ),
            (
                Method::POST,
                REPLIES.to_owned(),
                json!({ "shortcode": "ok", "title": "T", "body": "B", "owner": 1 }),
                "owner",
            ),
            (
                Method::PATCH,
                path.clone(),
                json!({ "body": "Hi {{customer.name" }),
                "body",
            ),
            (
                Method::PATCH,
                path.clone(),
                json!({ "category": "" }),
                "category",
            ),
            (
                Method::POST,
                render.clone(),
                json!({ "conversation": 0 }),
                "conversation",
            ),
            (
                Method::POST,
                render,
                json!({ "conversation": 1, "to": 2 }),
                "to",
            ),
        ];
        for (method, path, body, field) in cases {
            let response = server
                .send(method, &path, Some(&server.agent), Some(body.clone()))
                .await;
            let refused = problem(response, 422).await;
            assert_eq!(refused["field"], field, "{} {body}", server.store);
        }
        let response = server
            .send(
                Method::GET,
                &format!("{REPLIES}?sort=title"),
                Some(&server.agent),
                None,
            )
            .await;
        let refused = problem(response, 422).await;
        assert_eq!(refused["code"], "unknown_field", "{}", server.store);
        assert_eq!(refused["field"], "sort");
        let response = server
            .send(
                Method::GET,
                &format!("{REPLIES}/abc"),
                Some(&server.agent),
                None,
            )
            .await;
        assert_eq!(problem(response, 404).await["code"], "not_found");
        let still = server
            .expect(&server.agent, Method::GET, &path, None, 200)
            .await;
        assert_eq!(still, reply, "{}", server.store);
    }
}
