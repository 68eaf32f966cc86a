//! HTTPS: Nakama-compatible REST (authentication, sessions, accounts, RPC gateway), plus
//! `/healthcheck` and `/metrics`. Served by hyper-util over rustls (see [`serve`]).

mod account;
mod health;
mod leaderboard;
pub mod proxy;
pub mod request;
mod rpc;
pub mod serve;
mod storage;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::app::App;
use request::req;

/// Every route. Trailing `?`/`&` in queries are tolerated by the query parser.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    let r = || req(app.clone());
    let authenticate = warp::path!("v2" / "account" / "authenticate" / String)
        .and(warp::post())
        .and(r())
        .then(account::authenticate);
    let refresh = warp::path!("v2" / "account" / "session" / "refresh")
        .and(warp::post())
        .and(r())
        .then(account::refresh);
    let logout = warp::path!("v2" / "session" / "logout")
        .and(warp::post())
        .and(r())
        .then(account::logout);
    let get_account = warp::path!("v2" / "account")
        .and(warp::get())
        .and(r())
        .then(account::get_account);
    let put_account = warp::path!("v2" / "account")
        .and(warp::put())
        .and(r())
        .then(account::update_account);
    let rpc_post = warp::path!("v2" / "rpc" / String)
        .and(warp::post())
        .and(r())
        .then(|id, req| rpc::call(id, false, req));
    let rpc_get = warp::path!("v2" / "rpc" / String)
        .and(warp::get())
        .and(r())
        .then(|id, req| rpc::call(id, true, req));
    let storage_write = warp::path!("v2" / "storage")
        .and(warp::put())
        .and(r())
        .then(storage::write);
    let storage_read = warp::path!("v2" / "storage")
        .and(warp::post())
        .and(r())
        .then(storage::read);
    let storage_delete = warp::path!("v2" / "storage" / "delete")
        .and(warp::put())
        .and(r())
        .then(storage::delete);
    let storage_list = warp::path!("v2" / "storage" / String)
        .and(warp::get())
        .and(r())
        .then(|collection, req| storage::list(collection, None, req));
    let storage_list_user = warp::path!("v2" / "storage" / String / String)
        .and(warp::get())
        .and(r())
        .then(|collection, user, req| storage::list(collection, Some(user), req));
    let leaderboard_list = warp::path!("v2" / "leaderboard" / String)
        .and(warp::get())
        .and(r())
        .then(leaderboard::list);
    let leaderboard_write = warp::path!("v2" / "leaderboard" / String)
        .and(warp::post())
        .and(r())
        .then(leaderboard::write);
    let leaderboard_delete = warp::path!("v2" / "leaderboard" / String)
        .and(warp::delete())
        .and(r())
        .then(leaderboard::delete);
    let leaderboard_around = warp::path!("v2" / "leaderboard" / String / "owner" / String)
        .and(warp::get())
        .and(r())
        .then(leaderboard::around);
    let healthcheck = warp::path!("healthcheck")
        .and(warp::get())
        .and(r())
        .then(health::healthcheck);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(r())
        .then(health::metrics);

    let trace = warp::trace(|info| {
        tracing::info_span!(
            "request",
            id = %next_request_id(),
            method = %info.method(),
            path = %info.path(),
        )
    });

    authenticate
        .or(refresh)
        .unify()
        .or(logout)
        .unify()
        .or(get_account)
        .unify()
        .or(put_account)
        .unify()
        .or(rpc_post)
        .unify()
        .or(rpc_get)
        .unify()
        .or(storage_write)
        .unify()
        .or(storage_read)
        .unify()
        .or(storage_delete)
        .unify()
        .or(storage_list)
        .unify()
        .or(storage_list_user)
        .unify()
        .or(leaderboard_list)
        .unify()
        .or(leaderboard_write)
        .unify()
        .or(leaderboard_delete)
        .unify()
        .or(leaderboard_around)
        .unify()
        .or(healthcheck)
        .unify()
        .or(metrics)
        .unify()
        .recover(request::recover)
        .unify()
        .with(trace)
        .map(warp::Reply::into_response)
        .boxed()
}

fn next_request_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
