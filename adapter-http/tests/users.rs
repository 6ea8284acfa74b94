//! The staff list as admins manage it, over every store.

mod common;

use reqwest::Method;
use serde_json::json;

use common::{problem, servers};

#[tokio::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    for server in servers().await {
        let me = server
            .expect(&server.admin, Method::GET, "/api/v1/me", None, 200)
            .await;
        let path = format!("/api/v1/users/{}", me["id"]);
        for change in [json!({ "active": false }), json!({ "role": "agent" })] {
            let refused = server
                .send(Method::PATCH, &path, Some(&server.admin), Some(change))
                .await;
            let body = problem(refused, 409).await;
            assert_eq!(body["code"], "last_admin", "{}: {body}", server.store);
        }
        // Still an admin, still signed in.
        let me_again = server
            .expect(&server.admin, Method::GET, "/api/v1/me", None, 200)
            .await;
        assert_eq!(me_again["role"], "admin", "{}", server.store);

        // With a second admin, the first may step down.
        let promote = format!("/api/v1/users/{}", server.agent_id);
        let body = json!({ "role": "admin" });
        server
            .expect(&server.admin, Method::PATCH, &promote, Some(body), 200)
            .await;
        let body = json!({ "role": "agent" });
        let stepped_down = server
            .expect(&server.admin, Method::PATCH, &path, Some(body), 200)
            .await;
        assert_eq!(stepped_down["role"], "agent", "{}", server.store);
    }
}
