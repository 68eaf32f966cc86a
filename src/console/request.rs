//! A console request as the pages see it (method, path, query, form, cookie), and the
//! page that answers it, with the headers every console answer carries.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use warp::reply::Response;

use super::series::Series;
use super::session::{self, Admin};
use crate::app::App;

pub struct ConsoleRequest {
    pub app: App,
    pub series: Arc<Series>,
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    /// `Host` (HTTP/1.1) or `:authority` (h2).
    authority: Option<String>,
    /// The TCP peer (the console is not meant to sit behind a proxy).
    pub peer: Option<std::net::IpAddr>,
    form: BTreeMap<String, String>,
}

fn pairs(text: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(text).into_owned().collect()
}

impl ConsoleRequest {
    #[allow(clippy::too_many_arguments)] // one per part of the request warp hands over
    pub fn new(
        app: App,
        series: Arc<Series>,
        method: Method,
        path: &str,
        query: &str,
        headers: HeaderMap,
        authority: Option<String>,
        peer: Option<std::net::IpAddr>,
        body: &[u8],
    ) -> Self {
        let form = if method == Method::POST {
            pairs(body)
        } else {
            BTreeMap::new()
        };
        ConsoleRequest {
            app,
            series,
            method,
            path: path.to_string(),
            query: pairs(query.as_bytes()),
            headers,
            authority,
            peer,
            form,
        }
    }

    pub fn is_post(&self) -> bool {
        self.method == Method::POST
    }

    /// Path segments, percent-decoded, empty ones dropped.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                form_urlencoded::parse(format!("s={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    pub fn form(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// A change must come from the console's own pages: a browser names another site in
    /// `Origin` or `Sec-Fetch-Site` when a foreign page posts a form.
    pub fn same_origin(&self) -> bool {
        if matches!(
            self.header("sec-fetch-site"),
            Some("cross-site" | "same-site")
        ) {
            return false;
        }
        match (self.header("origin"), self.authority.as_deref()) {
            (Some(origin), Some(host)) => origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host),
            _ => true,
        }
    }

    /// The signed-in admin, from the session cookie.
    pub fn admin(&self) -> Option<Admin> {
        let token = self.cookie(session::COOKIE)?;
        session::admin(&self.app, &token)
    }
}

/// What the console answers.
pub struct Page {
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(http::HeaderName, String)>,
    body: Vec<u8>,
    cache: bool,
}

impl Page {
    pub fn html(status: StatusCode, markup: maud::Markup) -> Page {
        Page {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: markup.into_string().into_bytes(),
            cache: false,
        }
    }

    pub fn plain(status: StatusCode, text: &str) -> Page {
        Page {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: text.as_bytes().to_vec(),
            cache: false,
        }
    }

    pub fn json(value: &serde_json::Value) -> Page {
        Page {
            status: StatusCode::OK,
            content_type: "application/json",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
            cache: false,
        }
    }

    /// An embedded file, cacheable.
    pub fn asset(content_type: &'static str, body: &'static [u8]) -> Page {
        Page {
            status: StatusCode::OK,
            content_type,
            headers: Vec::new(),
            body: body.to_vec(),
            cache: true,
        }
    }

    pub fn with_header(mut self, name: http::HeaderName, value: String) -> Page {
        self.headers.push((name, value));
        self
    }

    pub fn into_response(self) -> Response {
        let mut r = Response::new(self.body.into());
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        let set = |h: &mut HeaderMap, name: http::HeaderName, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.append(name, v);
            }
        };
        set(h, http::header::CONTENT_TYPE, self.content_type);
        set(
            h,
            http::header::CACHE_CONTROL,
            if self.cache {
                "private, max-age=3600"
            } else {
                "no-store"
            },
        );
        set(
            h,
            http::header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
        set(h, http::header::X_FRAME_OPTIONS, "DENY");
        set(h, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(h, http::header::REFERRER_POLICY, "same-origin");
        for (name, value) in self.headers {
            set(h, name, &value);
        }
        r
    }
}

/// See other: after a change, the browser loads the page that shows it (POST, redirect,
/// GET), with a message for the banner.
pub fn redirect(to: &str) -> Page {
    Page {
        status: StatusCode::SEE_OTHER,
        content_type: "text/plain; charset=utf-8",
        headers: vec![(http::header::LOCATION, to.to_string())],
        body: Vec::new(),
        cache: false,
    }
}
