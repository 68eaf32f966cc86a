use std::collections::BTreeMap;

use serde_json::json;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_device_authenticates_and_calls_an_rpc() {
    let server = TestServer::start().await;
    let s = server
        .client
        .authenticate_device("device-alice-0001", true, Some("alice"), &BTreeMap::new())
        .await
        .unwrap();
    assert!(s.created);
    assert_eq!(s.username, "alice");
    let payload = s.token.split('.').nth(1).unwrap();
    assert!(!payload.contains('-') && !payload.contains('_'));
    let again = server
        .client
        .authenticate_device("device-alice-0001", true, None, &BTreeMap::new())
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.user_id, s.user_id);
    let reply = server
        .client
        .rpc(&s, "health_check", json!({}))
        .await
        .unwrap();
    assert_eq!(reply["success"], true);
    assert_eq!(reply["status"], "healthy");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_rpcs_need_the_admin_role() {
    let mut server = TestServer::start().await;
    let player = server.new_player().await;
    let err = player.rpc("game_list", json!({})).await.unwrap_err();
    assert_eq!(err.status(), 403);
    let admin = server.admin().await;
    let reply = admin.rpc("game_list", json!({})).await.unwrap();
    assert_eq!(reply["games"].as_array().unwrap().len(), 2);
}
