//! HTTPS: Nakama-compatible REST (authentication, sessions, accounts, RPC gateway, storage,
//! leaderboards, tournaments), plus `/healthcheck` and `/metrics` (or `/metrics` on its own
//! listener, `http.metrics_listen`).
//! Served by hyper-util over rustls (see [`serve`]).

mod account;
mod event;
mod health;
mod leaderboard;
pub mod proxy;
pub mod request;
mod rpc;
pub mod serve;
mod storage;
mod tournament;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::app::App;
use crate::rpc::Limit;
use request::{req, Gate};

/// Every route, each under its [`Gate`] (authentication and rate-limit class, checked from
/// the request's head before its body is read). Trailing `?`/`&` in queries are tolerated by
/// the query parser. `/metrics` is here unless `http.metrics_listen` moves it to
/// [`metrics_routes`].
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    let r = |gate: Gate, route: &'static str| req(app.clone(), gate, route);
    let authenticate = warp::path!("v2" / "account" / "authenticate" / String)
        .and(warp::post())
        .and(r(Gate::ServerKey, "authenticate"))
        .then(account::authenticate);
    let refresh = warp::path!("v2" / "account" / "session" / "refresh")
        .and(warp::post())
        .and(r(Gate::ServerKey, "session_refresh"))
        .then(account::refresh);
    let logout = warp::path!("v2" / "session" / "logout")
        .and(warp::post())
        .and(r(Gate::Session(Limit::Write), "session_logout"))
        .then(account::logout);
    let get_account = warp::path!("v2" / "account")
        .and(warp::get())
        .and(r(Gate::Session(Limit::Read), "account_get"))
        .then(account::get_account);
    let put_account = warp::path!("v2" / "account")
        .and(warp::put())
        .and(r(Gate::Session(Limit::Write), "account_update"))
        .then(account::update_account);
    let rpc_post = warp::path!("v2" / "rpc" / String)
        .and(warp::post())
        .and(r(Gate::Rpc, "rpc"))
        .then(|id, req| rpc::call(id, false, req));
    let rpc_get = warp::path!("v2" / "rpc" / String)
        .and(warp::get())
        .and(r(Gate::Rpc, "rpc"))
        .then(|id, req| rpc::call(id, true, req));
    let storage_write = warp::path!("v2" / "storage")
        .and(warp::put())
        .and(r(Gate::AsRpc("batch_write_storage"), "storage_write"))
        .then(storage::write);
    let storage_read = warp::path!("v2" / "storage")
        .and(warp::post())
        .and(r(Gate::AsRpc("batch_read_storage"), "storage_read"))
        .then(storage::read);
    let storage_delete = warp::path!("v2" / "storage" / "delete")
        .and(warp::put())
        .and(r(Gate::AsRpc("cloud_save_delete"), "storage_delete"))
        .then(storage::delete);
    let storage_list = warp::path!("v2" / "storage" / String)
        .and(warp::get())
        .and(r(Gate::AsRpc("cloud_save_list"), "storage_list"))
        .then(|collection, req| storage::list(collection, None, req));
    let storage_list_user = warp::path!("v2" / "storage" / String / String)
        .and(warp::get())
        .and(r(Gate::AsRpc("cloud_save_list"), "storage_list"))
        .then(|collection, user, req| storage::list(collection, Some(user), req));
    let event = warp::path!("v2" / "event")
        .and(warp::post())
        .and(r(Gate::AsRpc("analytics_collect_events"), "event"))
        .then(event::event);
    let leaderboard_list = warp::path!("v2" / "leaderboard" / String)
        .and(warp::get())
        .and(r(Gate::AsRpc("get_leaderboard"), "leaderboard_list"))
        .then(leaderboard::list);
    let leaderboard_write = warp::path!("v2" / "leaderboard" / String)
        .and(warp::post())
        .and(r(Gate::AsRpc("submit_score"), "leaderboard_write"))
        .then(leaderboard::write);
    let leaderboard_delete = warp::path!("v2" / "leaderboard" / String)
        .and(warp::delete())
        .and(r(Gate::AsRpc("submit_score"), "leaderboard_delete"))
        .then(leaderboard::delete);
    let leaderboard_around = warp::path!("v2" / "leaderboard" / String / "owner" / String)
        .and(warp::get())
        .and(r(Gate::AsRpc("get_leaderboard"), "leaderboard_around"))
        .then(leaderboard::around);
    let tournament_list = warp::path!("v2" / "tournament")
        .and(warp::get())
        .and(r(Gate::AsRpc("tournament_list_active"), "tournament_list"))
        .then(tournament::list);
    let tournament_join = warp::path!("v2" / "tournament" / String / "join")
        .and(warp::post())
        .and(r(Gate::AsRpc("tournament_join"), "tournament_join"))
        .then(tournament::join);
    let tournament_put = warp::path!("v2" / "tournament" / String)
        .and(warp::put())
        .and(r(
            Gate::AsRpc("tournament_submit_score"),
            "tournament_write",
        ))
        .then(tournament::write);
    let tournament_post = warp::path!("v2" / "tournament" / String)
        .and(warp::post())
        .and(r(
            Gate::AsRpc("tournament_submit_score"),
            "tournament_write",
        ))
        .then(tournament::write);
    let tournament_records = warp::path!("v2" / "tournament" / String)
        .and(warp::get())
        .and(r(
            Gate::AsRpc("tournament_get_leaderboard"),
            "tournament_records",
        ))
        .then(tournament::list_records);
    let tournament_around = warp::path!("v2" / "tournament" / String / "owner" / String)
        .and(warp::get())
        .and(r(
            Gate::AsRpc("tournament_get_leaderboard"),
            "tournament_records_around_owner",
        ))
        .then(tournament::around_owner);
    let healthcheck = warp::path!("healthcheck")
        .and(warp::get())
        .and(r(Gate::Public, "healthcheck"))
        .then(health::healthcheck);
    let metrics_here = app.config.http.metrics_listen.is_none();
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(
            warp::any()
                .and_then(move || async move {
                    if metrics_here {
                        Ok(())
                    } else {
                        Err(warp::reject::not_found())
                    }
                })
                .untuple_one(),
        )
        .and(r(Gate::Public, "metrics"))
        .then(health::metrics);

    let trace = warp::trace(|info| {
        tracing::info_span!(
            "request",
            id = %next_request_id(),
            method = %info.method(),
            path = %info.path(),
        )
    });

    // Each route boxed, then tried in turn: one long `.or` chain nests its types so deep that
    // the crate takes many minutes to type-check.
    any_of(
        authenticate.boxed(),
        vec![
            refresh.boxed(),
            logout.boxed(),
            get_account.boxed(),
            put_account.boxed(),
            rpc_post.boxed(),
            rpc_get.boxed(),
            storage_write.boxed(),
            storage_read.boxed(),
            storage_delete.boxed(),
            storage_list.boxed(),
            storage_list_user.boxed(),
            event.boxed(),
            leaderboard_list.boxed(),
            leaderboard_write.boxed(),
            leaderboard_delete.boxed(),
            leaderboard_around.boxed(),
            tournament_list.boxed(),
            tournament_join.boxed(),
            tournament_put.boxed(),
            tournament_post.boxed(),
            tournament_records.boxed(),
            tournament_around.boxed(),
            healthcheck.boxed(),
            metrics.boxed(),
        ],
    )
    .recover(request::recover)
    .unify()
    .with(trace)
    .map(warp::Reply::into_response)
    .boxed()
}

/// The routes of the `http.metrics_listen` listener: `/metrics` and `/healthcheck`.
pub fn metrics_routes(app: App) -> BoxedFilter<(Response,)> {
    let r = |gate: Gate, route: &'static str| req(app.clone(), gate, route);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(r(Gate::Public, "metrics"))
        .then(health::metrics);
    let healthcheck = warp::path!("healthcheck")
        .and(warp::get())
        .and(r(Gate::Public, "healthcheck"))
        .then(health::healthcheck);
    metrics
        .or(healthcheck)
        .unify()
        .recover(request::recover)
        .unify()
        .map(warp::Reply::into_response)
        .boxed()
}

/// The first of `routes` that accepts the request.
fn any_of(
    first: BoxedFilter<(Response,)>,
    rest: Vec<BoxedFilter<(Response,)>>,
) -> BoxedFilter<(Response,)> {
    rest.into_iter()
        .fold(first, |all, next| all.or(next).unify().boxed())
}

fn next_request_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
