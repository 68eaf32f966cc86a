//! Nakama's tournament REST calls, as the official SDKs make them.

use reqwest::Method;
use serde_json::Value;

use super::{into_result, ApiError, Client, Credentials, Session};

impl Client {
    /// `GET /v2/tournament?…` (`query` without the leading `?`, may be empty).
    pub async fn list_tournaments(&self, s: &Session, query: &str) -> Result<Value, ApiError> {
        let path = if query.is_empty() {
            "/v2/tournament".to_string()
        } else {
            format!("/v2/tournament?{query}")
        };
        into_result(
            self.request(Method::GET, &path, Credentials::Bearer(&s.token), None)
                .await?,
        )
    }

    /// `POST /v2/tournament/{id}/join`.
    pub async fn join_tournament(&self, s: &Session, id: &str) -> Result<Value, ApiError> {
        let path = format!("/v2/tournament/{id}/join");
        into_result(
            self.request(
                Method::POST,
                &path,
                Credentials::Bearer(&s.token),
                Some(b"{}".to_vec()),
            )
            .await?,
        )
    }

    /// `PUT /v2/tournament/{id}` (as the JS SDK writes) with a `TournamentRecordWrite`
    /// (`{"score": "10", "subscore": "0", "metadata": "{}"}`).
    pub async fn write_tournament_record(
        &self,
        s: &Session,
        id: &str,
        record: &Value,
    ) -> Result<Value, ApiError> {
        self.send_tournament_record(Method::PUT, s, id, record)
            .await
    }

    /// `POST /v2/tournament/{id}`: the same write, by Nakama's other binding.
    pub async fn post_tournament_record(
        &self,
        s: &Session,
        id: &str,
        record: &Value,
    ) -> Result<Value, ApiError> {
        self.send_tournament_record(Method::POST, s, id, record)
            .await
    }

    async fn send_tournament_record(
        &self,
        method: Method,
        s: &Session,
        id: &str,
        record: &Value,
    ) -> Result<Value, ApiError> {
        let path = format!("/v2/tournament/{id}");
        into_result(
            self.request(
                method,
                &path,
                Credentials::Bearer(&s.token),
                Some(record.to_string().into_bytes()),
            )
            .await?,
        )
    }

    /// `GET /v2/tournament/{id}?…` (records) or, with `owner`,
    /// `GET /v2/tournament/{id}/owner/{owner}?…`.
    pub async fn tournament_records(
        &self,
        s: &Session,
        id: &str,
        owner: Option<&str>,
        query: &str,
    ) -> Result<Value, ApiError> {
        let mut path = match owner {
            Some(o) => format!("/v2/tournament/{id}/owner/{o}"),
            None => format!("/v2/tournament/{id}"),
        };
        if !query.is_empty() {
            path.push('?');
            path.push_str(query);
        }
        into_result(
            self.request(Method::GET, &path, Credentials::Bearer(&s.token), None)
                .await?,
        )
    }
}
