//! Sign in (email and password of an admin account) and sign out.

use maud::{html, DOCTYPE};

use crate::console::request::{redirect, ConsoleRequest, Page};
use crate::console::session;

pub fn form(req: &ConsoleRequest, error: Option<&str>) -> Page {
    if error.is_none() && req.admin().is_some() {
        return redirect("/");
    }
    let status = if error.is_some() {
        http::StatusCode::UNAUTHORIZED
    } else {
        http::StatusCode::OK
    };
    Page::html(
        status,
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "Sign in · Outpost console" }
                    link rel="stylesheet" href="/assets/console.css";
                }
                body {
                    main {
                        h1 { "Outpost console" }
                        p.muted { "Sign in with an account that has the admin role (" code { "outpost user promote" } ")." }
                        @if let Some(e) = error { p.banner.err role="alert" { (e) } }
                        form.stack method="post" action="/login" {
                            label for="email" { "Email" }
                            input id="email" name="email" type="email" autocomplete="username" required autofocus;
                            label for="password" { "Password" }
                            input id="password" name="password" type="password" autocomplete="current-password" required;
                            button type="submit" { "Sign in" }
                        }
                    }
                }
            }
        },
    )
}

pub async fn submit(req: &ConsoleRequest) -> Page {
    if let Some(ip) = req.peer {
        if let Err(wait) = req.app.limiters.check_auth(ip) {
            req.app.metrics.rate_limited("auth");
            return form(
                req,
                Some(&format!(
                    "Too many sign-in attempts: try again in {wait} s."
                )),
            );
        }
    }
    let email = req.form("email").unwrap_or_default();
    let password = req.form("password").unwrap_or_default();
    match session::sign_in(&req.app, req.peer, email, password).await {
        Ok(token) => redirect("/").with_header(
            http::header::SET_COOKIE,
            session::set_cookie(&token, req.app.config.auth.session_ttl_secs as i64),
        ),
        Err(message) => {
            tracing::info!("console sign-in refused: {message}");
            form(req, Some(&message))
        }
    }
}

pub async fn sign_out(req: &ConsoleRequest) -> Page {
    if let Some(token) = req.cookie(session::COOKIE) {
        session::sign_out(&req.app, &token).await;
    }
    redirect("/login").with_header(http::header::SET_COOKIE, session::clear_cookie())
}
