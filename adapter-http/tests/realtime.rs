//! The WebSocket side end to end: a real client against the server on port 0, over every
//! store.

mod common;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};
use shiftdesk_core::ids::{AgentId, ConversationId, CustomerId};
use shiftdesk_core::message::MessageKind;
use shiftdesk_core::service::Outgoing;
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::text::{ClientMessageId, MessageBody};
use shiftdesk_core::transfer::TransferRequest;

use common::{TestServer, WsClient, problem, servers, servers_with, test_settings};

fn agent(id: i64) -> Context {
    Context::new(Actor::agent(AgentId::try_from(id).expect("agent id")))
}

fn customer(id: i64) -> Context {
    Context::new(Actor::Customer {
        id: CustomerId::try_from(id).expect("customer id"),
    })
}

/// A conversation opened by the connected customer `client`.
async fn opened_by(server: &TestServer, client: &WsClient) -> ConversationId {
    let opened = server
        .service
        .open_conversation(&customer(client.user_id()), None, None)
        .await;
    opened.expect("opened").id
}

/// Writes `count` messages as `ctx`; returns the last sequence number.
async fn write(server: &TestServer, ctx: &Context, id: ConversationId, count: usize) -> u64 {
    let mut last = 0;
    for n in 0..count {
        let outgoing = Outgoing {
            client_id: None,
            kind: MessageKind::Message,
            body: MessageBody::parse(&format!("message {n}")).expect("body"),
        };
        let sent = server.service.send(ctx, id, outgoing).await.expect("sent");
        last = sent.message.seq.get();
    }
    last
}

fn send_frame(id: ConversationId, client_id: &str, body: &str) -> Value {
    json!({ "type": "send", "payload": {
        "conversation": id.get(), "client_id": client_id, "body": body,
    } })
}

fn resume_frame(id: ConversationId, last: u64) -> Value {
    json!({ "type": "resume", "payload": { "conversations": { id.get().to_string(): last } } })
}

/// The sequence numbers of the message frames up to the `resumed` frame of `id`.
async fn replayed(client: &mut WsClient, id: ConversationId) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        let frame = client.next().await;
        match frame["type"].as_str() {
            Some("message") if frame["payload"]["conversation"] == id.get() => {
                seqs.push(frame["payload"]["seq"].as_u64().expect("seq"));
            }
            Some("resumed") if frame["payload"]["conversation"] == id.get() => return seqs,
            Some("closed") => panic!("closed during a replay: {frame}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_customer_message_reaches_the_on_shift_agent() {
    for server in servers().await {
        server.on_shift_now(server.agent_id).await;
        let mut mei = server.connect(&server.agent).await;
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        let assigned = mei.next_of("assigned").await;
        assert_eq!(
            assigned["payload"]["agent"], server.agent_id,
            "{}",
            server.store
        );

        client.send(send_frame(id, "c-1", "我想退票")).await;
        let ack = client.next_of("ack").await;
        let seq = ack["payload"]["seq"].as_u64().expect("seq");
        let message = loop {
            let message = mei.next_of("message").await;
            if message["payload"]["seq"] == seq {
                break message;
            }
        };
        assert_eq!(message["payload"]["body"], "我想退票", "{}", server.store);
        assert_eq!(message["payload"]["sender"]["type"], "customer");
    }
}

#[tokio::test]
async fn a_waiting_conversation_goes_to_an_on_shift_agent_the_moment_they_connect() {
    for server in servers().await {
        server.on_shift_now(server.agent_id).await;
        let client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        let before = server
            .service
            .conversation(&Context::new(Actor::System), id)
            .await;
        assert!(before.expect("seen").conversation.assignee().is_none());

        let mut mei = server.connect(&server.agent).await;
        let assigned = mei.next_of("assigned").await;
        assert_eq!(
            assigned["payload"]["conversation"],
            id.get(),
            "{}",
            server.store
        );
        let system = mei.next_of("message").await;
        assert_eq!(system["payload"]["kind"], "system", "{}", server.store);

        let stats = server
            .expect(
                &server.admin,
                Method::GET,
                "/api/v1/stats/online",
                None,
                200,
            )
            .await;
        assert_eq!(
            stats["agents"],
            json!([server.agent_id]),
            "{}",
            server.store
        );
        assert_eq!(stats["agents_online"], 1);
        assert_eq!(stats["customer_connections"], 1);
        assert_eq!(stats["connections"], 2);
    }
}

#[tokio::test]
async fn acks_carry_the_stored_sequence_number_and_a_repeated_client_id_the_first_ack() {
    for server in servers().await {
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;

        client.send(send_frame(id, "c-1", "first")).await;
        let first = client.next_of("ack").await["payload"].clone();
        client
            .send(send_frame(id, "c-1", "a retry with other words"))
            .await;
        let retry = client.next_of("ack").await["payload"].clone();

        let stored = server
            .service
            .messages_after(&customer(client.user_id()), id, None, 10)
            .await
            .expect("messages");
        let last = stored.last().expect("one message");
        assert_eq!(first["seq"], last.seq.get(), "{}", server.store);
        assert_eq!(last.body.as_str(), "first");
        assert_eq!(stored.len(), 1, "{}: stored once", server.store);
        assert_eq!(first["duplicate"], false);
        assert_eq!(
            (retry["seq"].clone(), retry["duplicate"].clone()),
            (first["seq"].clone(), json!(true))
        );
        assert_eq!(retry["at"], first["at"]);
        assert_eq!(first["client_id"], "c-1");
    }
}

#[tokio::test]
async fn a_resume_from_seq_40_delivers_41_onward_in_order() {
    for server in servers().await {
        let id = server
            .taken_conversation("resume-40", server.agent_id)
            .await;
        let last = write(&server, &agent(server.agent_id), id, 59).await;
        assert_eq!(last, 60);

        let mut mei = server.connect(&server.agent).await;
        mei.send(resume_frame(id, 40)).await;
        let seqs = replayed(&mut mei, id).await;
        assert_eq!(seqs, (41..=60).collect::<Vec<u64>>(), "{}", server.store);
    }
}

#[tokio::test]
async fn reconnecting_twice_within_a_second_delivers_each_message_once() {
    for server in servers().await {
        let id = server.taken_conversation("twice", server.agent_id).await;
        write(&server, &agent(server.agent_id), id, 10).await;
        let writer = {
            let (service, ctx) = (server.service.clone(), agent(server.agent_id));
            tokio::spawn(async move {
                for n in 0..30 {
                    let outgoing = Outgoing {
                        client_id: Some(ClientMessageId::parse(&format!("w-{n}")).expect("id")),
                        kind: MessageKind::Message,
                        body: MessageBody::parse("live").expect("body"),
                    };
                    service.send(&ctx, id, outgoing).await.expect("sent");
                }
            })
        };

        let mut seen: Vec<u64> = Vec::new();
        for _ in 0..3 {
            // The resume rides on the ticket, so it runs before any live message is read.
            let last = seen.last().copied().unwrap_or(0);
            let resume = json!({ id.get().to_string(): last });
            let mut mei = server.connect_resuming(&server.agent, Some(resume)).await;
            seen.extend(replayed(&mut mei, id).await);
            // The next connection replaces this one; read what it was sent until then.
            let next = server.connect(&server.agent).await;
            loop {
                let frame = mei.next().await;
                if frame["type"] == "closed" {
                    assert_eq!(frame["code"], 4001, "{}: {frame}", server.store);
                    break;
                }
                if frame["type"] == "message" {
                    seen.push(frame["payload"]["seq"].as_u64().expect("seq"));
                }
            }
            next.close().await;
        }
        writer.await.expect("writer");
        let mut mei = server.connect(&server.agent).await;
        mei.send(resume_frame(id, seen.last().copied().unwrap_or(0)))
            .await;
        seen.extend(replayed(&mut mei, id).await);
        assert_eq!(seen, (1..=41).collect::<Vec<u64>>(), "{}", server.store);
    }
}

#[tokio::test]
async fn ending_an_agents_sessions_closes_their_connections_and_voids_their_tickets() {
    for server in servers().await {
        // Deactivated by an admin: the live connection closes, an earlier ticket opens nothing.
        let mut mei = server.connect(&server.agent).await;
        let unused = server.ticket(&server.agent).await;
        let path = format!("/api/v1/users/{}", server.agent_id);
        let body = json!({ "active": false });
        server
            .expect(&server.admin, Method::PATCH, &path, Some(body), 200)
            .await;
        assert_eq!(mei.close_code().await, 4004, "{}", server.store);
        let refused = tokio_tungstenite::connect_async(server.ws_url(&unused)).await;
        assert!(refused.is_err(), "{}: a voided ticket opened", server.store);

        // Logging out everywhere does the same to one's own connection.
        let mut ben = server.connect(&server.other).await;
        server
            .expect(
                &server.other,
                Method::POST,
                "/api/v1/auth/logout",
                None,
                204,
            )
            .await;
        assert_eq!(ben.close_code().await, 4004, "{}", server.store);

        let stats = server
            .expect(
                &server.admin,
                Method::GET,
                "/api/v1/stats/online",
                None,
                200,
            )
            .await;
        assert_eq!(stats["agent_connections"], 0, "{}: {stats}", server.store);
    }
}

#[tokio::test]
async fn a_second_login_closes_the_first_connection_with_the_replaced_code() {
    for server in servers().await {
        let mut first = server.connect(&server.agent).await;
        let mut second = server.connect(&server.agent).await;
        assert_eq!(first.close_code().await, 4001, "{}", server.store);

        let stats = server
            .expect(
                &server.admin,
                Method::GET,
                "/api/v1/stats/online",
                None,
                200,
            )
            .await;
        assert_eq!(stats["agent_connections"], 1, "{}", server.store);
        second
            .send(json!({ "type": "typing", "payload": { "conversation": 999 } }))
            .await;
        let error = second.next_of("error").await;
        assert_eq!(error["payload"]["code"], "not_found", "{}", server.store);
    }
}

#[tokio::test]
async fn several_devices_each_stay_connected_when_the_server_allows_them() {
    let several = || {
        let mut settings = test_settings();
        settings.realtime.several_devices = true;
        settings
    };
    for server in servers_with(several).await {
        let mut phone = server.connect(&server.customer).await;
        let mut laptop = server.connect(&server.customer).await;
        let id = opened_by(&server, &phone).await;
        phone.send(send_frame(id, "p-1", "from the phone")).await;
        let ack = phone.next_of("ack").await;
        let echoed = laptop.next_of("message").await;
        assert_eq!(
            echoed["payload"]["seq"], ack["payload"]["seq"],
            "{}",
            server.store
        );
        assert_eq!(echoed["payload"]["client_id"], "p-1");
    }
}

#[tokio::test]
async fn a_slow_reader_is_closed_with_the_resume_code_then_resumes_without_loss() {
    let small_queue = || {
        let mut settings = test_settings();
        settings.realtime.queue = 4;
        settings
    };
    for server in servers_with(small_queue).await {
        let id = server.taken_conversation("slow", server.agent_id).await;
        let mut reader = server.connect(&server.agent).await;
        // Large messages that nobody reads fill the socket's buffers, then the queue.
        let body = "退".repeat(9_000);
        let mut last = 0;
        for _ in 0..600 {
            let outgoing = Outgoing {
                client_id: None,
                kind: MessageKind::Message,
                body: MessageBody::parse(&body).expect("body"),
            };
            let ctx = agent(server.agent_id);
            last = server
                .service
                .send(&ctx, id, outgoing)
                .await
                .expect("sent")
                .message
                .seq
                .get();
        }

        let mut seen = Vec::new();
        let code = loop {
            let frame = reader.next().await;
            match frame["type"].as_str() {
                Some("message") => seen.push(frame["payload"]["seq"].as_u64().expect("seq")),
                Some("closed") => break frame["code"].as_u64().expect("code"),
                _ => {}
            }
        };
        assert_eq!(code, 4002, "{}", server.store);
        assert!(
            (seen.len() as u64) < last,
            "{}: the queue overflowed",
            server.store
        );

        let mut again = server.connect(&server.agent).await;
        again
            .send(resume_frame(id, seen.last().copied().unwrap_or(0)))
            .await;
        seen.extend(replayed(&mut again, id).await);
        let first = seen[0];
        assert_eq!(
            seen,
            (first..=last).collect::<Vec<u64>>(),
            "{}",
            server.store
        );
    }
}

#[tokio::test]
async fn a_transfer_pushes_the_context_note_to_the_new_agent_and_transferred_to_the_customer() {
    for server in servers().await {
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        let mei = agent(server.agent_id);
        server
            .service
            .take_conversation(&mei, id)
            .await
            .expect("taken");
        client
            .send(send_frame(id, "c-1", "my train was cancelled"))
            .await;
        client.next_of("ack").await;
        let mut ben = server.connect(&server.other).await;

        let request = TransferRequest {
            conversation: id,
            to: AgentId::try_from(server.other_id).expect("id"),
            note: None,
            force: false,
        };
        server
            .service
            .transfer(&mei, request)
            .await
            .expect("transferred");

        let transferred = ben.next_of("transferred").await;
        assert_eq!(
            transferred["payload"]["to"], server.other_id,
            "{}",
            server.store
        );
        let mut kinds = BTreeMap::new();
        loop {
            let frame = ben.next().await;
            match frame["type"].as_str() {
                Some("message") => {
                    let kind = frame["payload"]["kind"].as_str().expect("kind").to_owned();
                    let body = frame["payload"]["body"].as_str().expect("body").to_owned();
                    kinds.insert(frame["payload"]["seq"].as_u64().expect("seq"), (kind, body));
                }
                Some("resumed") => break,
                _ => {}
            }
        }
        let (kind, body) = kinds.values().last().expect("the context note");
        assert_eq!(kind, "note", "{}: {kinds:?}", server.store);
        assert!(
            body.contains("my train was cancelled"),
            "{}: {body}",
            server.store
        );
        assert!(
            kinds.len() >= 3,
            "{}: the whole conversation: {kinds:?}",
            server.store
        );

        let told = client.next_of("transferred").await;
        assert_eq!(told["payload"]["to"], server.other_id, "{}", server.store);
        // The customer never sees the note: the next thing they see is a later message.
        let other = agent(server.other_id);
        let reply = write(&server, &other, id, 1).await;
        let next = client.next_of("message").await;
        assert_eq!(next["payload"]["seq"], reply, "{}", server.store);
        assert_eq!(next["payload"]["kind"], "message");
    }
}

#[tokio::test]
async fn malformed_frames_get_error_frames_and_the_connection_stays_usable() {
    for server in servers().await {
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;

        client.send_text("{not json").await;
        assert_eq!(
            client.next_of("error").await["payload"]["code"],
            "malformed_json"
        );
        client.send(json!({ "type": "shout", "payload": {} })).await;
        let unknown = client.next_of("error").await["payload"].clone();
        assert_eq!(unknown["code"], "unknown_type", "{}", server.store);
        assert_eq!(unknown["frame"]["type"], "shout");
        client.send_binary(&[1, 2, 3]).await;
        assert_eq!(
            client.next_of("error").await["payload"]["code"],
            "binary_frame"
        );
        let huge = "x".repeat(70 * 1024);
        client.send(send_frame(id, "c-big", &huge)).await;
        assert_eq!(
            client.next_of("error").await["payload"]["code"],
            "frame_too_large"
        );
        client.send(send_frame(id, "c-bad id!", "hello")).await;
        let bad = client.next_of("error").await["payload"].clone();
        assert_eq!(bad["field"], "payload.client_id", "{}: {bad}", server.store);
        client
            .send(json!({ "type": "read", "payload": { "conversation": id.get() } }))
            .await;
        let missing = client.next_of("error").await["payload"].clone();
        assert_eq!(
            missing["code"], "missing_field",
            "{}: {missing}",
            server.store
        );

        client.send(send_frame(id, "c-1", "still here")).await;
        let ack = client.next_of("ack").await;
        assert_eq!(ack["payload"]["client_id"], "c-1", "{}", server.store);
    }
}

#[tokio::test]
async fn a_ticket_opens_one_connection_and_only_a_websocket_request_uses_it() {
    for server in servers().await {
        let ticket = server.ticket(&server.agent).await;
        let plain = server
            .client
            .get(server.url(&format!("/api/v1/ws?ticket={ticket}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(problem(plain, 426).await["code"], "upgrade_required");

        let url = server.ws_url(&ticket);
        tokio_tungstenite::connect_async(&url)
            .await
            .expect("first use");
        let again = tokio_tungstenite::connect_async(&url).await;
        let Err(tokio_tungstenite::tungstenite::Error::Http(refused)) = again else {
            panic!("{}: a used ticket opened a connection", server.store);
        };
        assert_eq!(refused.status().as_u16(), 401);
        let made_up = server.ws_url("0123");
        assert!(tokio_tungstenite::connect_async(&made_up).await.is_err());
    }
}

#[tokio::test]
async fn online_statistics_are_for_admins_only() {
    for server in servers().await {
        for token in [&server.agent, &server.customer] {
            let response = server
                .send(Method::GET, "/api/v1/stats/online", Some(token), None)
                .await;
            assert_eq!(
                problem(response, 403).await["code"],
                "forbidden",
                "{}",
                server.store
            );
        }
    }
}

#[tokio::test]
async fn a_shutdown_closes_connections_with_going_away() {
    for server in servers().await {
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        client
            .send(send_frame(id, "c-1", "just before the end"))
            .await;
        let ack = client.next_of("ack").await;
        assert_eq!(ack["payload"]["seq"], 1, "{}", server.store);
        let store = server.store;
        let stopping = tokio::spawn(server.server.shut_down());
        assert_eq!(client.close_code().await, 1001, "{store}");
        stopping.await.expect("joined").expect("stopped");
    }
}

#[tokio::test]
async fn read_positions_and_typing_reach_the_other_side_and_typing_clears_on_disconnect() {
    for server in servers().await {
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        let mei = agent(server.agent_id);
        server
            .service
            .take_conversation(&mei, id)
            .await
            .expect("taken");
        let mut agent_side = server.connect(&server.agent).await;
        let reply = write(&server, &mei, id, 1).await;

        client
            .send(json!({ "type": "typing", "payload": { "conversation": id.get() } }))
            .await;
        let typing = agent_side.next_of("typing").await["payload"].clone();
        assert_eq!(typing["active"], true, "{}", server.store);
        assert_eq!(typing["participant"]["type"], "customer");
        assert!(typing["expires_in_ms"].as_u64().is_some_and(|ms| ms > 0));

        client
            .send(json!({ "type": "read", "payload": { "conversation": id.get(), "seq": reply } }))
            .await;
        let read = agent_side.next_of("read").await["payload"].clone();
        assert_eq!(read["seq"], reply, "{}", server.store);
        assert_eq!(read["participant"]["type"], "customer");

        client.close().await;
        let cleared = agent_side.next_of("typing").await["payload"].clone();
        assert_eq!(cleared["active"], false, "{}", server.store);
    }
}

#[tokio::test]
async fn an_agent_hears_of_their_schedule_and_a_customer_does_not() {
    for server in servers().await {
        let mut mei = server.connect(&server.agent).await;
        let mut client = server.connect(&server.customer).await;
        server.on_shift_now(server.agent_id).await;

        let changed = mei.next_of("schedule_changed").await["payload"].clone();
        assert_eq!(
            changed["agents"],
            json!([server.agent_id]),
            "{}",
            server.store
        );
        // The customer's next frame answers their own frame: nothing of the schedule came.
        client
            .send(json!({ "type": "typing", "payload": { "conversation": 999_999 } }))
            .await;
        let next = client.next().await;
        assert_eq!(next["type"], "error", "{}: {next}", server.store);
    }
}

#[tokio::test]
async fn a_resume_from_beyond_the_last_message_still_gets_the_next_ones() {
    for server in servers().await {
        let id = server.taken_conversation("beyond", server.agent_id).await;
        let mei = agent(server.agent_id);
        let last = write(&server, &mei, id, 3).await;
        let mut connection = server.connect(&server.agent).await;
        connection.send(resume_frame(id, last + 100)).await;
        assert!(
            replayed(&mut connection, id).await.is_empty(),
            "{}",
            server.store
        );

        let next = write(&server, &mei, id, 1).await;
        let pushed = connection.next_of("message").await;
        assert_eq!(pushed["payload"]["seq"], next, "{}", server.store);
    }
}

#[tokio::test]
async fn a_ticket_with_a_bad_resume_key_is_refused_naming_it() {
    for server in servers().await {
        let body = json!({ "resume": { "forty-two": 3 } });
        let response = server
            .send(
                Method::POST,
                "/api/v1/ws/tickets",
                Some(&server.agent),
                Some(body),
            )
            .await;
        let refused = problem(response, 422).await;
        assert_eq!(
            refused["field"], "resume.forty-two",
            "{}: {refused}",
            server.store
        );
    }
}

#[tokio::test]
async fn an_agent_whose_last_connection_closes_hands_back_their_conversations_if_the_team_says_so()
{
    for server in servers().await {
        server.on_shift_now(server.agent_id).await;
        let mut team = server
            .expect(&server.admin, Method::GET, "/api/v1/team", None, 200)
            .await;
        team["requeue_when_away"] = json!(true);
        server
            .expect(&server.admin, Method::PUT, "/api/v1/team", Some(team), 200)
            .await;
        let mut mei = server.connect(&server.agent).await;
        let mut client = server.connect(&server.customer).await;
        let id = opened_by(&server, &client).await;
        mei.next_of("assigned").await;
        client.next_of("assigned").await;

        mei.close().await;
        let queued = client.next_of("queued").await["payload"].clone();
        assert_eq!(queued["conversation"], id.get(), "{}", server.store);
        assert_eq!(queued["from"], server.agent_id);
        let stats = server
            .expect(
                &server.admin,
                Method::GET,
                "/api/v1/stats/online",
                None,
                200,
            )
            .await;
        assert_eq!(stats["agents_online"], 0, "{}", server.store);
    }
}
