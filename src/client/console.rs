//! A client for the admin console as a browser without JavaScript uses it: sign in with a
//! form, keep the session cookie, read pages, post forms with the page's CSRF token. For
//! tests and operators' scripts.

use std::sync::Mutex;
use std::time::Duration;

use super::{tls_client_config, ApiError, Trust};

pub struct ConsoleClient {
    http: reqwest::Client,
    base: String,
    cookie: Mutex<Option<String>>,
}

/// A console answer: status, where it redirects, and the page.
#[derive(Debug, Clone)]
pub struct ConsolePage {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl ConsolePage {
    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> Option<String> {
        let at = self.body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
        let rest = &self.body[at..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

impl ConsoleClient {
    pub fn new(base: &str, trust: Trust<'_>) -> Result<ConsoleClient, ApiError> {
        let tls = tls_client_config(trust, &[b"http/1.1"])?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .build()
            .map_err(ApiError::transport)?;
        Ok(ConsoleClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            cookie: Mutex::new(None),
        })
    }

    fn cookie(&self) -> Option<String> {
        self.cookie
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets the session cookie (as a new browser would).
    pub fn forget_cookie(&self) {
        *self.cookie.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<ConsolePage, ApiError> {
        let rb = match self.cookie() {
            Some(c) => rb.header(reqwest::header::COOKIE, c),
            None => rb,
        };
        let resp = rb
            .send()
            .await
            .map_err(|e| ApiError::transport(e.to_string()))?;
        for v in resp.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Some(pair) = v.to_str().ok().and_then(|s| s.split(';').next()) {
                let cleared = pair.ends_with('=');
                *self.cookie.lock().unwrap_or_else(|p| p.into_inner()) =
                    (!cleared).then(|| pair.to_string());
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .text()
            .await
            .map_err(|e| ApiError::transport(e.to_string()))?;
        Ok(ConsolePage {
            status,
            location,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Result<ConsolePage, ApiError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// Posts a form as the console's own pages do (same origin).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<ConsolePage, ApiError> {
        self.post_from(path, form, Some(&self.base.clone())).await
    }

    /// Posts a form with a given `Origin` (None: no Origin header).
    pub async fn post_from(
        &self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Result<ConsolePage, ApiError> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut rb = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some(o) = origin {
            rb = rb.header(reqwest::header::ORIGIN, o);
        }
        self.send(rb).await
    }

    /// Signs in; the session cookie is kept for later requests.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<ConsolePage, ApiError> {
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }
}
