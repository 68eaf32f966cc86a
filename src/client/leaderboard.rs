//! Nakama's leaderboard REST calls (`/v2/leaderboard`), as a game client makes them.

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use super::{into_result, ApiError, Client, Credentials, Session};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl Client {
    /// `POST /v2/leaderboard/{id}` with a Nakama `LeaderboardRecordWrite` body
    /// (`{"score": "10", "subscore": "0", "metadata": "{}", "operator": 1}`).
    pub async fn leaderboard_write(
        &self,
        s: &Session,
        board: &str,
        record: Value,
    ) -> Result<Value, ApiError> {
        let path = format!("/v2/leaderboard/{}", encode(board));
        let reply = self
            .request(
                Method::POST,
                &path,
                Credentials::Bearer(&s.token),
                Some(record.to_string().into_bytes()),
            )
            .await?;
        into_result(reply)
    }

    /// `GET /v2/leaderboard/{id}?{query}` (`query` as written, e.g. `limit=10&owner_ids=…`).
    pub async fn leaderboard_records(
        &self,
        s: &Session,
        board: &str,
        query: &str,
    ) -> Result<Value, ApiError> {
        let path = format!("/v2/leaderboard/{}?{query}", encode(board));
        let reply = self
            .request(Method::GET, &path, Credentials::Bearer(&s.token), None)
            .await?;
        into_result(reply)
    }

    /// `GET /v2/leaderboard/{id}/owner/{owner}?{query}`: the page around an owner.
    pub async fn leaderboard_around(
        &self,
        s: &Session,
        board: &str,
        owner: Uuid,
        query: &str,
    ) -> Result<Value, ApiError> {
        let path = format!("/v2/leaderboard/{}/owner/{owner}?{query}", encode(board));
        let reply = self
            .request(Method::GET, &path, Credentials::Bearer(&s.token), None)
            .await?;
        into_result(reply)
    }

    /// `DELETE /v2/leaderboard/{id}`: deletes the caller's record.
    pub async fn leaderboard_delete(&self, s: &Session, board: &str) -> Result<Value, ApiError> {
        let path = format!("/v2/leaderboard/{}", encode(board));
        let reply = self
            .request(Method::DELETE, &path, Credentials::Bearer(&s.token), None)
            .await?;
        into_result(reply)
    }
}
