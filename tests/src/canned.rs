//! Canned replies: shadowing of public replies by personal ones, lookup ranking, rendering
//! with names and an unknown variable named, who manages which replies, unique shortcodes.

use std::sync::Arc;

use shiftdesk_core::canned::{
    self, CannedReply, CannedReplyUpdate, LOOKUP_LIMIT, NewCannedReply, ReplyScope, Template,
    TemplateError, TemplateValues,
};
use shiftdesk_core::error::{CannedError, Resource};
use shiftdesk_core::ids::{AgentId, CannedReplyId, ConversationId};
use shiftdesk_core::staff::{Actor, Context};
use shiftdesk_core::store::Store;
use shiftdesk_core::text::{Shortcode, Title, Topic};

use crate::harness::Harness;

fn new_reply(scope: ReplyScope, code: &str, title: &str, body: &str) -> NewCannedReply {
    NewCannedReply {
        scope,
        shortcode: Shortcode::parse(code).expect("a valid shortcode"),
        title: Title::parse(title).expect("a valid title"),
        category: Some(Topic::parse("general").expect("a valid topic")),
        body: Template::parse(body).expect("a valid template"),
    }
}

fn personal(owner: AgentId) -> ReplyScope {
    ReplyScope::Personal { owner }
}

/// Creates a reply as `ctx`; panics if refused.
async fn create(h: &Harness, ctx: &Context, reply: NewCannedReply) -> CannedReply {
    let created = h.service.create_canned_reply(ctx, reply).await;
    created.expect("the canned reply is created")
}

fn ids(replies: &[CannedReply]) -> Vec<CannedReplyId> {
    replies.iter().map(|reply| reply.id).collect()
}

fn sorted(mut ids: Vec<CannedReplyId>) -> Vec<CannedReplyId> {
    ids.sort_unstable();
    ids
}

/// An agent sees the public replies and their own; their personal reply hides the public
/// one with the same shortcode from them (in the list and in lookups) and from nobody else.
/// Customers see none.
pub async fn a_personal_reply_shadows_a_public_one_with_its_shortcode_for_its_owner_only(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    let admin = h.admin();
    let public_refund = create(
        &h,
        &admin,
        new_reply(ReplyScope::Public, "refund", "Refund", "退款政策"),
    )
    .await;
    let public_hello = create(
        &h,
        &admin,
        new_reply(ReplyScope::Public, "hello", "Hello", "您好"),
    )
    .await;
    let meis = new_reply(personal(mei), "refund", "Mei's refund", "我来处理退款");
    let meis = create(&h, &h.as_agent(mei), meis).await;
    let bos = new_reply(personal(bo), "bye", "Bo's bye", "再见");
    let bos = create(&h, &h.as_agent(bo), bos).await;
    let seen = |ctx: Context| {
        let h = h.clone();
        async move { sorted(ids(&h.service.canned_replies(&ctx).await.expect("listed"))) }
    };

    assert_eq!(
        seen(h.as_agent(mei)).await,
        sorted(vec![public_hello.id, meis.id])
    );
    assert_eq!(
        seen(h.as_agent(bo)).await,
        sorted(vec![public_refund.id, public_hello.id, bos.id])
    );
    assert_eq!(
        seen(admin.clone()).await,
        sorted(vec![public_refund.id, public_hello.id])
    );
    let lookup = h
        .service
        .lookup_canned_replies(&h.as_agent(mei), "refund")
        .await;
    assert_eq!(ids(&lookup.expect("looked up")), vec![meis.id]);
    let lookup = h
        .service
        .lookup_canned_replies(&h.as_agent(bo), "refund")
        .await;
    assert_eq!(ids(&lookup.expect("looked up")), vec![public_refund.id]);
    let customer = h.customer("Li").await;
    let by_customer = h.service.canned_replies(&h.as_customer(customer.id)).await;
    assert!(matches!(by_customer, Err(CannedError::Forbidden)));
}

/// Lookup by what an agent typed ranks the exact shortcode first, then shortcodes starting
/// with it, then titles containing it (ignoring case), each group in shortcode order, and
/// returns at most [`LOOKUP_LIMIT`] replies.
pub async fn lookup_ranks_the_exact_shortcode_then_prefixes_then_titles(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent("mei").await;
    let admin = h.admin();
    let mut made = std::collections::HashMap::new();
    for (code, title) in [
        ("thanks", "Refund done, thanks"),
        ("refund-late", "Late refund"),
        ("hello", "Greeting"),
        ("refund", "Refund"),
        ("ref", "Reference number"),
        ("bye", "Goodbye"),
    ] {
        let reply = create(&h, &admin, new_reply(ReplyScope::Public, code, title, "…")).await;
        made.insert(code, reply.id);
    }
    let mine = new_reply(personal(mei), "refund-vip", "VIP refund", "…");
    made.insert("refund-vip", create(&h, &h.as_agent(mei), mine).await.id);
    let lookup = |query: &'static str| {
        let h = h.clone();
        let ctx = h.as_agent(mei);
        async move {
            ids(&h
                .service
                .lookup_canned_replies(&ctx, query)
                .await
                .expect("found"))
        }
    };
    let expect = |codes: &[&str]| codes.iter().map(|code| made[code]).collect::<Vec<_>>();

    assert_eq!(
        lookup("REFUND").await,
        expect(&["refund", "refund-late", "refund-vip", "thanks"])
    );
    assert_eq!(
        lookup("ref").await,
        expect(&["ref", "refund", "refund-late", "refund-vip", "thanks"])
    );
    assert_eq!(lookup("good").await, expect(&["bye"]));
    assert_eq!(lookup("zzz").await, expect(&[]));

    for n in 1..=LOOKUP_LIMIT + 5 {
        let code = format!("promo-{n:02}");
        create(
            &h,
            &admin,
            new_reply(ReplyScope::Public, &code, "Promotion", "…"),
        )
        .await;
    }
    let found = h
        .service
        .lookup_canned_replies(&h.as_agent(mei), "promo")
        .await;
    let found = found.expect("found");
    let codes: Vec<String> = found.iter().map(|r| r.shortcode.to_string()).collect();
    let first: Vec<String> = (1..=LOOKUP_LIMIT)
        .map(|n| format!("promo-{n:02}"))
        .collect();
    assert_eq!(codes, first);
}

/// Rendering fills in the customer's and the sending agent's display names and the
/// conversation's number, in any script; only for a conversation the agent may see. A
/// variable Shiftdesk does not know is an error that names it, both when a reply is written
/// and when text is rendered: never an empty gap in front of a customer.
pub async fn rendering_fills_names_and_the_conversation_and_names_an_unknown_variable(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let mei = h.agent_named("mei", "Mei 梅").await;
    let bo = h.agent("bo").await;
    h.on_duty(&[mei]).await;
    let li = h.customer("李伟").await;
    let id = h.open(li.id, "我想退票").await.id;
    let body = "您好 {{customer.name}}，我是{{ agent.name }}，会话 #{{conversation.id}}。";
    let reply = new_reply(ReplyScope::Public, "greet", "Greeting", body);
    let reply = create(&h, &h.admin(), reply).await;

    let rendered = h
        .service
        .render_canned_reply(&h.as_agent(mei), reply.id, id)
        .await;
    assert_eq!(
        rendered.expect("rendered"),
        format!("您好 李伟，我是Mei 梅，会话 #{id}。")
    );
    let stranger = h
        .service
        .render_canned_reply(&h.as_agent(bo), reply.id, id)
        .await;
    assert!(matches!(
        stranger,
        Err(CannedError::NotFound(Resource::Conversation(found))) if found == id
    ));
    let missing = ConversationId::try_from(999_999).expect("a valid id");
    let admin = h
        .service
        .render_canned_reply(&h.admin(), reply.id, missing)
        .await;
    assert!(matches!(
        admin,
        Err(CannedError::NotFound(Resource::Conversation(_)))
    ));
    let customer = h.as_customer(li.id);
    let by_customer = h.service.render_canned_reply(&customer, reply.id, id).await;
    assert!(matches!(by_customer, Err(CannedError::Forbidden)));
    let by_system = Context::new(Actor::System);
    let by_system = h
        .service
        .render_canned_reply(&by_system, reply.id, id)
        .await;
    assert!(matches!(by_system, Err(CannedError::Forbidden)));

    let unknown = "Dear {{customer.title}}, thanks";
    let refused = Template::parse(unknown).expect_err("an unknown variable is refused");
    assert!(
        refused.to_string().contains("customer.title"),
        "the error names the variable: {refused}"
    );
    let values = TemplateValues {
        customer_name: "李伟".to_owned(),
        agent_name: "Mei 梅".to_owned(),
        conversation: id,
    };
    assert_eq!(
        canned::render(unknown, &values),
        Err(TemplateError::UnknownVariable("customer.title".to_owned()))
    );
    let unclosed = Template::parse("Dear {{customer.name");
    assert!(unclosed.is_err());
}

/// Agents create, change and remove only their own personal replies; admins manage the
/// public ones (and their own). Anything else is refused, or not found for another agent's
/// personal reply, and changes nothing.
pub async fn agents_manage_only_their_own_personal_replies_and_admins_the_public_ones(
    store: Arc<dyn Store>,
) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    let (admin, as_mei, as_bo) = (h.admin(), h.as_agent(mei), h.as_agent(bo));
    let public = create(
        &h,
        &admin,
        new_reply(ReplyScope::Public, "hello", "Hello", "您好"),
    )
    .await;
    let meis = create(
        &h,
        &as_mei,
        new_reply(personal(mei), "mine", "Mine", "我的"),
    )
    .await;
    let world = h.desk_world().await;
    let retitle = CannedReplyUpdate {
        title: Some(Title::parse("Changed").expect("valid")),
        ..CannedReplyUpdate::default()
    };

    let refused = h
        .service
        .create_canned_reply(&as_mei, new_reply(ReplyScope::Public, "x", "X", "x"))
        .await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    let refused = h
        .service
        .create_canned_reply(&as_mei, new_reply(personal(bo), "x", "X", "x"))
        .await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    let refused = h
        .service
        .create_canned_reply(&admin, new_reply(personal(mei), "x", "X", "x"))
        .await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    let refused = h
        .service
        .update_canned_reply(&as_mei, public.id, retitle.clone())
        .await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    let refused = h.service.delete_canned_reply(&as_mei, public.id).await;
    assert!(matches!(refused, Err(CannedError::Forbidden)));
    for refused in [
        h.service
            .update_canned_reply(&as_bo, meis.id, retitle.clone())
            .await
            .err(),
        h.service.delete_canned_reply(&as_bo, meis.id).await.err(),
        h.service
            .update_canned_reply(&admin, meis.id, retitle.clone())
            .await
            .err(),
    ] {
        assert!(
            matches!(refused, Some(CannedError::NotFound(Resource::CannedReply(id))) if id == meis.id),
            "{refused:?}"
        );
    }
    assert_eq!(h.desk_world().await, world, "refusals change nothing");

    let changed = h
        .service
        .update_canned_reply(&as_mei, meis.id, retitle.clone())
        .await;
    let changed = changed.expect("her own");
    assert_eq!(changed.title.as_str(), "Changed");
    assert_eq!(
        (changed.shortcode, changed.body),
        (meis.shortcode, meis.body)
    );
    let mut seen = h.service.canned_replies(&as_mei).await.expect("listed");
    seen.sort_by_key(|reply| reply.id);
    assert_eq!(seen[1].title.as_str(), "Changed", "the change reads back");
    let changed = h
        .service
        .update_canned_reply(&admin, public.id, retitle)
        .await;
    assert_eq!(
        changed.expect("public, by an admin").title.as_str(),
        "Changed"
    );
    h.service
        .delete_canned_reply(&as_mei, meis.id)
        .await
        .expect("her own");
    h.service
        .delete_canned_reply(&admin, public.id)
        .await
        .expect("public, by an admin");
    assert!(
        h.service
            .canned_replies(&as_mei)
            .await
            .expect("listed")
            .is_empty()
    );
}

/// A shortcode is unique within its scope (the public replies, or one agent's), compared
/// lower-cased, whether created or renamed; the same shortcode in another scope is fine.
pub async fn shortcodes_are_unique_within_a_scope_and_free_across_scopes(store: Arc<dyn Store>) {
    let h = Harness::at_desk(store).await;
    let (mei, bo) = (h.agent("mei").await, h.agent("bo").await);
    let (admin, as_mei) = (h.admin(), h.as_agent(mei));
    create(
        &h,
        &admin,
        new_reply(ReplyScope::Public, "hello", "Hello", "您好"),
    )
    .await;
    create(
        &h,
        &as_mei,
        new_reply(personal(mei), "hello", "Hello", "你好"),
    )
    .await;
    create(
        &h,
        &h.as_agent(bo),
        new_reply(personal(bo), "hello", "Hello", "嗨"),
    )
    .await;
    let bye = create(&h, &as_mei, new_reply(personal(mei), "bye", "Bye", "再见")).await;
    let world = h.desk_world().await;
    let taken = |outcome: Result<CannedReply, CannedError>| matches!(outcome, Err(CannedError::ShortcodeTaken(code)) if code.as_str() == "hello");

    let again = new_reply(ReplyScope::Public, "HELLO", "Again", "again");
    assert!(taken(h.service.create_canned_reply(&admin, again).await));
    let again = new_reply(personal(mei), "Hello", "Again", "again");
    assert!(taken(h.service.create_canned_reply(&as_mei, again).await));
    let rename = CannedReplyUpdate {
        shortcode: Some(Shortcode::parse("hello").expect("valid")),
        ..CannedReplyUpdate::default()
    };
    assert!(taken(
        h.service.update_canned_reply(&as_mei, bye.id, rename).await
    ));
    assert_eq!(h.desk_world().await, world);
}
