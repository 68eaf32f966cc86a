//! Ending a live match from the console: the players in it see it end as any match ends
//! (`match_end` with the scoreboard, then `match_left` with the admin's reason), the result
//! is stored, and the audit log names the admin.

use std::time::Duration;

use outpost::client::quic::ServerMsg;
use serde_json::json;

use crate::common::TestServer;
use crate::console_actions::signed_in_admin;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_ends_a_live_arena_match_and_its_players_see_it_end() {
    let server = TestServer::start().await;
    let game = server.game("arena");
    let (admin, admin_id) = signed_in_admin(&server, "matches@example.com").await;
    let alice = server.player("device-end-alice-01").await;
    let bob = server.player("device-end-bob-0001").await;
    let mut a = server.quic(&alice, &game).await;
    let mut b = server.quic(&bob, &game).await;
    let joined = a
        .create_match("arena", "ranked-eu", json!({"kill_limit": 50}))
        .await
        .unwrap();
    b.join_match(&joined.match_id, None).await.unwrap();

    // The page lists the match with its players and an End button.
    let page = admin.get(&format!("/matches?game={game}")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&joined.match_id), "{}", page.body);
    assert!(page.body.contains("ranked-eu"));
    assert!(page.body.contains(&alice.user_id().to_string()));
    assert!(page.body.contains(&bob.user_id().to_string()));
    assert!(page.body.contains("End match"));
    let csrf = page.csrf().unwrap();

    let target = format!("/matches/{}/end?game={game}", joined.match_id);
    let no_reason = admin
        .post(&target, &[("csrf", &csrf), ("reason", "  ")])
        .await
        .unwrap();
    assert!(
        no_reason
            .location
            .as_deref()
            .unwrap_or("")
            .contains("err=reason"),
        "{no_reason:?}"
    );
    let done = admin
        .post(
            &target,
            &[("csrf", &csrf), ("reason", "server patch in 5 minutes")],
        )
        .await
        .unwrap();
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location.as_deref().unwrap_or("").contains("ok="),
        "{done:?}"
    );

    for player in [&mut a, &mut b] {
        let ServerMsg::MatchEnd {
            match_id,
            scoreboard,
            vote_options,
            ..
        } = player
            .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchEnd { .. }))
            .await
            .unwrap()
        else {
            unreachable!()
        };
        assert_eq!(match_id, joined.match_id);
        assert_eq!(scoreboard.reason, "ended_by_admin");
        assert_eq!(scoreboard.players.len(), 2);
        assert!(vote_options.is_empty(), "no vote after an admin's end");
        let ServerMsg::MatchLeft { code, reason, .. } = player
            .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchLeft { .. }))
            .await
            .unwrap()
        else {
            unreachable!()
        };
        assert_eq!(code, 0);
        assert!(reason.contains("server patch in 5 minutes"), "{reason}");
        // The connection stays up: only the match closed.
        player.ping().await.unwrap();
    }

    // The result is stored as for any finished match.
    let result = alice
        .rpc(
            "match_get_result",
            json!({"game_id": game, "match_id": joined.match_id}),
        )
        .await
        .unwrap();
    assert_eq!(result["result"]["reason"], "ended_by_admin");
    assert_eq!(result["result"]["players"].as_array().unwrap().len(), 2);

    let after = admin.get(&format!("/matches?game={game}")).await.unwrap();
    let live_section = &after.body[..after.body.find("Online players").unwrap()];
    assert!(
        !live_section.contains(&joined.match_id),
        "no longer listed as live"
    );
    let audit = admin.get("/audit?action=match_end").await.unwrap();
    assert!(audit.body.contains(&joined.match_id), "{}", audit.body);
    assert!(audit.body.contains(&format!("admin:{admin_id}")));
    assert!(audit.body.contains("server patch in 5 minutes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn match_end_closes_a_relay_match_and_names_bad_fields() {
    let mut server = TestServer::start().await;
    let game = server.game("arena");
    let root = server.admin().await;
    let carol = server.player("device-end-carol-01").await;
    let mut c = server.quic(&carol, &game).await;
    let joined = c.create_match("relay", "", json!({})).await.unwrap();

    let live = root
        .rpc("match_list_live", json!({"game_id": game}))
        .await
        .unwrap();
    let listed = &live["matches"][0];
    assert_eq!(listed["match_id"], joined.match_id);
    assert_eq!(listed["players"][0]["user_id"], carol.user_id().to_string());

    let err = root
        .rpc(
            "match_end",
            json!({"game_id": game, "match_id": joined.match_id, "reason": ""}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.message.contains("reason"), "{}", err.message);
    let err = root
        .rpc(
            "match_end",
            json!({"game_id": game, "match_id": "no-such-match", "reason": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert!(err.message.contains("match_id"), "{}", err.message);
    // Players may not end matches.
    let err = carol
        .rpc(
            "match_end",
            json!({"game_id": game, "match_id": joined.match_id, "reason": "mine"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), 403);

    let ended = root
        .rpc(
            "match_end",
            json!({"game_id": game, "match_id": joined.match_id, "reason": "stuck lobby"}),
        )
        .await
        .unwrap();
    assert_eq!(ended["closed"], true, "{ended}");
    assert!(ended["result"].is_null(), "relay keeps no score: {ended}");
    let ServerMsg::MatchLeft { reason, .. } = c
        .wait_for(WAIT, |m| matches!(m, ServerMsg::MatchLeft { .. }))
        .await
        .unwrap()
    else {
        unreachable!()
    };
    assert!(reason.contains("stuck lobby"), "{reason}");
    let live = root
        .rpc("match_list_live", json!({"game_id": game}))
        .await
        .unwrap();
    assert_eq!(live["matches"].as_array().unwrap().len(), 0, "{live}");
}
