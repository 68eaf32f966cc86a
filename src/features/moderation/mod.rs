//! Moderation: admins ban cheaters (for a while or for good) and lift bans, and every
//! admin action is written to the audit log. A ban bites at once: [`crate::auth::Auth`]
//! refuses the user's tokens and logins, and live connections hear of it on the bus.

pub mod audit;
pub mod model;
pub mod reports;
mod rpc;

pub use audit::AuditEntry;
pub use model::BanView;

use crate::rpc::{Caller, Limit, Registry};

pub fn register(r: &mut Registry) {
    r.admin("moderation_ban", Limit::Write, rpc::ban);
    r.admin("moderation_unban", Limit::Write, rpc::unban);
    r.admin("moderation_list_bans", Limit::Read, rpc::list_bans);
    r.player("report_player", Limit::Write, reports::report);
    r.admin("moderation_list_reports", Limit::Read, reports::list);
    r.admin("moderation_resolve_report", Limit::Write, reports::resolve);
    r.admin("audit_list", Limit::Read, rpc::audit_list);
}

/// Who did it, as bans and the audit log name them: `cli` for the admin socket (and the
/// CLI on a stopped server), an admin's user id, `server` for the http key.
pub fn actor(caller: &Caller) -> String {
    match caller {
        Caller::Admin(None) => "cli".into(),
        Caller::Admin(Some(id)) => format!("admin:{id}"),
        Caller::Server => "server".into(),
        Caller::Player(s) => format!("player:{}", s.user_id),
    }
}
