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
