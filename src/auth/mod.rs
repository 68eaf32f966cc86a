//! Accounts, credentials, sessions and bans: who is calling, and whether they may.
//!
//! Accounts are global (one account plays every game on the server); per-game player data
//! lives in the features. Tokens are Nakama-compatible JWTs (see [`token`]).

pub mod account;
pub mod ban;
pub mod password;
pub mod rules;
pub mod secrets;
pub mod strikes;
pub mod token;

use std::collections::BTreeMap;
use std::sync::Arc;

use uuid::Uuid;

pub use account::{Account, AccountUpdate, Credential, Role, UserId};
pub use ban::Ban;

pub use secrets::Secrets;
pub use token::{Claims, TokenError};

use crate::config::AuthConfig;
use crate::events::{Bus, Event};
use crate::store::{Abort, Key, Store, StoreError, Tree};

/// `sys/accounts.userid`: user id → account (public for counting without an [`Auth`]).
pub const ACCOUNTS: &str = "accounts.userid";
const BY_USERNAME: &str = "username_userid";
const BY_DEVICE: &str = "device_userid";
const BY_EMAIL: &str = "email_userid";
const BY_CUSTOM: &str = "custom_userid";
const REVOKED: &str = "revoked.tid";
const BANS: &str = "bans.userid";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// A wrong password (or an email account without one).
    #[error("Invalid credentials.")]
    BadCredentials,
    /// Too many attempts, or every password-hashing slot is busy: retry later.
    #[error("too many sign-in attempts: retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("account is banned: {}{}", .ban.reason, match .ban.until { Some(u) => format!(" (until {})", crate::time::rfc3339(u)), None => String::new() })]
    Banned { ban: Ban },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A session pair handed to a client.
#[derive(Debug, Clone)]
pub struct SessionPair {
    pub token: String,
    pub refresh_token: String,
    pub claims: Claims,
}

#[derive(Debug, Clone)]
pub struct Authenticated {
    pub account: Account,
    pub created: bool,
    pub session: SessionPair,
}

#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    secrets: Secrets,
    session_ttl: i64,
    refresh_ttl: i64,
    bus: Bus,
    accounts: Tree,
    by_username: Tree,
    by_device: Tree,
    by_email: Tree,
    by_custom: Tree,
    revoked: Tree,
    bans: Tree,
    hasher: password::Hasher,
    /// Wrong passwords per account.
    failed_logins: strikes::Strikes<Uuid>,
    /// Accounts on the server, counted once (sled's `len` walks the tree) and kept since;
    /// -1 until first asked.
    count: std::sync::atomic::AtomicI64,
}

fn uid_key(id: UserId) -> Key {
    Key::new().uuid(id)
}

fn text_key(s: &str) -> Key {
    Key::new().bytes(s.as_bytes())
}

impl Auth {
    pub fn new(
        store: &Store,
        secrets: Secrets,
        cfg: &AuthConfig,
        bus: Bus,
    ) -> Result<Auth, StoreError> {
        Ok(Auth {
            inner: Arc::new(Inner {
                store: store.clone(),
                secrets,
                session_ttl: cfg.session_ttl_secs as i64,
                refresh_ttl: cfg.refresh_ttl_secs as i64,
                bus,
                accounts: store.global(ACCOUNTS)?,
                by_username: store.global(BY_USERNAME)?,
                by_device: store.global(BY_DEVICE)?,
                by_email: store.global(BY_EMAIL)?,
                by_custom: store.global(BY_CUSTOM)?,
                revoked: store.global(REVOKED)?,
                bans: store.global(BANS)?,
                hasher: password::Hasher::new(cfg.max_concurrent_hashes, cfg.max_queued_hashes),
                failed_logins: strikes::Strikes::new(
                    cfg.failed_logins_per_account,
                    std::time::Duration::from_secs(cfg.failed_login_window_secs),
                    100_000,
                ),
                count: std::sync::atomic::AtomicI64::new(-1),
            }),
        })
    }

    pub fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }

    fn credential_index(&self, cred: &Credential) -> (&Tree, Key) {
        match cred {
            Credential::Device(id) => (&self.inner.by_device, text_key(id)),
            Credential::Email { email, .. } => {
                (&self.inner.by_email, text_key(&email.to_lowercase()))
            }
            Credential::Custom(id) => (&self.inner.by_custom, text_key(id)),
        }
    }

    /// Logs in with a credential, creating the account when `create` allows.
    pub async fn authenticate(
        &self,
        cred: Credential,
        create: bool,
        username: Option<String>,
        vars: BTreeMap<String, String>,
    ) -> Result<Authenticated, AuthError> {
        self.authenticate_gated(cred, create, username, vars, &|| Ok(()))
            .await
    }

    /// As [`Auth::authenticate`], creating an account only when `may_create` agrees (the
    /// transport's per-address limit on new accounts: `Err` holds the seconds to wait).
    pub async fn authenticate_gated(
        &self,
        cred: Credential,
        create: bool,
        username: Option<String>,
        vars: BTreeMap<String, String>,
        may_create: &(dyn Fn() -> Result<(), u64> + Send + Sync),
    ) -> Result<Authenticated, AuthError> {
        match &cred {
            Credential::Device(id) => rules::device_id(id)?,
            Credential::Custom(id) => rules::custom_id(id)?,
            Credential::Email { email, password } => {
                rules::email(email)?;
                rules::password(password)?;
            }
        }
        if let Some(u) = &username {
            rules::username(u)?;
        }
        check_vars(&vars)?;
        let (index, key) = self.credential_index(&cred);
        let (index, key) = (index.clone(), key);
        for _attempt in 0..3 {
            if let Some(id) = index.get::<Uuid>(&key)? {
                let account = self.account(id)?;
                if let Credential::Email { password, .. } = &cred {
                    let failed = &self.inner.failed_logins;
                    failed
                        .check(&account.id)
                        .map_err(|retry_after_secs| AuthError::RateLimited { retry_after_secs })?;
                    let ok = match &account.password_hash {
                        Some(h) => self
                            .inner
                            .hasher
                            .verify(password.clone(), h.clone())
                            .await
                            .map_err(busy)?,
                        None => false,
                    };
                    if !ok {
                        failed.strike(&account.id);
                        return Err(AuthError::BadCredentials);
                    }
                    failed.clear(&account.id);
                }
                self.refuse_if_banned(account.id)?;
                let session = self.issue(&account, vars)?;
                return Ok(Authenticated {
                    account,
                    created: false,
                    session,
                });
            }
            if !create {
                return Err(AuthError::NotFound("User account not found.".into()));
            }
            may_create().map_err(|retry_after_secs| AuthError::RateLimited { retry_after_secs })?;
            let password_hash = match &cred {
                Credential::Email { password, .. } => Some(
                    self.inner
                        .hasher
                        .hash(password.clone())
                        .await
                        .map_err(busy)?
                        .map_err(StoreError::Codec)?,
                ),
                _ => None,
            };
            match self.create_account(&cred, &index, &key, username.clone(), password_hash)? {
                Some(account) => {
                    self.inner.store.durable().await?;
                    let session = self.issue(&account, vars)?;
                    return Ok(Authenticated {
                        account,
                        created: true,
                        session,
                    });
                }
                None => continue, // the credential was taken meanwhile: log in to that account
            }
        }
        Err(AuthError::Unauthenticated(
            "Could not authenticate, try again.".into(),
        ))
    }

    /// Creates the account with its indexes in one transaction. `None` when the credential
    /// was registered by someone else in the meantime.
    fn create_account(
        &self,
        cred: &Credential,
        index: &Tree,
        key: &Key,
        username: Option<String>,
        password_hash: Option<String>,
    ) -> Result<Option<Account>, AuthError> {
        let now = crate::time::now();
        let given = username.is_some();
        for _ in 0..5 {
            let name = username.clone().unwrap_or_else(rules::generated_username);
            let mut account = Account::new(Uuid::new_v4(), name.clone(), now);
            match cred {
                Credential::Device(id) => account.devices.push(id.clone()),
                Credential::Email { email, .. } => account.email = Some(email.to_lowercase()),
                Credential::Custom(id) => account.custom_id = Some(id.clone()),
            }
            account.password_hash = password_hash.clone();
            let name_key = text_key(&name.to_lowercase());
            let i = &self.inner;
            let result = Tree::transaction(&[&i.accounts, &i.by_username, index], |tx| {
                if tx.get::<Uuid, _>(2, key)?.is_some() {
                    return Err(Abort::Fail(Outcome::CredentialTaken));
                }
                if tx.get::<Uuid, _>(1, &name_key)?.is_some() {
                    return Err(Abort::Fail(Outcome::UsernameTaken));
                }
                tx.insert(0, uid_key(account.id), &account)?;
                tx.insert(1, &name_key, &account.id)?;
                tx.insert(2, key, &account.id)?;
                Ok(())
            });
            match result {
                Ok(()) => {
                    let _ = self.inner.count.fetch_update(
                        std::sync::atomic::Ordering::AcqRel,
                        std::sync::atomic::Ordering::Acquire,
                        |c| (c >= 0).then_some(c + 1),
                    );
                    return Ok(Some(account));
                }
                Err(Outcome::CredentialTaken) => return Ok(None),
                Err(Outcome::UsernameTaken) if given => {
                    return Err(AuthError::AlreadyExists(
                        "Username is already in use.".into(),
                    ))
                }
                Err(Outcome::UsernameTaken) => continue,
                Err(Outcome::Store(e)) => return Err(e.into()),
                Err(Outcome::Missing) => {
                    return Err(AuthError::NotFound("account vanished".into()))
                }
            }
        }
        Err(AuthError::AlreadyExists(
            "Could not find a free username.".into(),
        ))
    }

    fn issue(
        &self,
        account: &Account,
        vars: BTreeMap<String, String>,
    ) -> Result<SessionPair, AuthError> {
        let now = crate::time::now();
        let claims = Claims {
            tid: Uuid::new_v4().to_string(),
            uid: account.id.to_string(),
            usn: account.username.clone(),
            vrs: vars,
            exp: now + self.inner.session_ttl,
            iat: now,
        };
        // One token id for the pair, as Nakama does: revoking it revokes both.
        let refresh = Claims {
            exp: now + self.inner.refresh_ttl,
            ..claims.clone()
        };
        Ok(SessionPair {
            token: token::sign(&claims, self.inner.secrets.session_secret.as_bytes()),
            refresh_token: token::sign(&refresh, self.inner.secrets.refresh_secret.as_bytes()),
            claims,
        })
    }

    /// Checks a session token: signature, expiry, revocation and bans.
    pub fn verify_session(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = token::verify(
            token,
            self.inner.secrets.session_secret.as_bytes(),
            crate::time::now(),
        )
        .map_err(token_error)?;
        self.check_live(&claims)?;
        Ok(claims)
    }

    fn check_live(&self, claims: &Claims) -> Result<UserId, AuthError> {
        if self.inner.revoked.contains(text_key(&claims.tid))? {
            return Err(AuthError::Unauthenticated("Token has been revoked.".into()));
        }
        let uid = Uuid::parse_str(&claims.uid)
            .map_err(|_| AuthError::Unauthenticated("Token is malformed.".into()))?;
        self.refuse_if_banned(uid)?;
        Ok(uid)
    }

    /// Trades a refresh token for a new session pair; the old refresh token is spent.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        vars: Option<BTreeMap<String, String>>,
    ) -> Result<SessionPair, AuthError> {
        let old = token::verify(
            refresh_token,
            self.inner.secrets.refresh_secret.as_bytes(),
            crate::time::now(),
        )
        .map_err(|e| match e {
            TokenError::Expired => AuthError::Unauthenticated("Refresh token has expired.".into()),
            _ => AuthError::Unauthenticated("Refresh token invalid.".into()),
        })?;
        let uid = Uuid::parse_str(&old.uid)
            .map_err(|_| AuthError::Unauthenticated("Refresh token invalid.".into()))?;
        self.refuse_if_banned(uid)?;
        let account = self
            .account(uid)
            .map_err(|_| AuthError::NotFound("User account not found.".into()))?;
        let vars = match vars {
            Some(v) if !v.is_empty() => {
                check_vars(&v)?;
                v
            }
            _ => old.vrs.clone(),
        };
        // Spending the refresh token is one compare-and-set: of two refreshes racing with
        // the same token, exactly one wins (this also revokes the old session token).
        if !self
            .inner
            .revoked
            .insert_new(text_key(&old.tid), &old.exp)?
        {
            return Err(AuthError::Unauthenticated("Token has been revoked.".into()));
        }
        let pair = self.issue(&account, vars)?;
        self.inner.store.durable().await?;
        Ok(pair)
    }

    /// Revokes a session token and its refresh token at once (they share a token id), and
    /// closes the session's live connections.
    pub async fn logout(
        &self,
        caller: &Claims,
        token: Option<&str>,
        refresh_token: Option<&str>,
    ) -> Result<(), AuthError> {
        let mut revoked = vec![self.revoke(caller)?];
        if let Some(t) = token {
            if let Ok(c) = token::verify(t, self.inner.secrets.session_secret.as_bytes(), i64::MIN)
            {
                if c.uid == caller.uid {
                    revoked.push(self.revoke(&c)?);
                }
            }
        }
        if let Some(t) = refresh_token {
            if let Ok(c) = token::verify(t, self.inner.secrets.refresh_secret.as_bytes(), i64::MIN)
            {
                if c.uid == caller.uid {
                    revoked.push(self.revoke(&c)?);
                }
            }
        }
        self.inner.store.durable().await?;
        let user_id = Uuid::parse_str(&caller.uid)
            .map_err(|_| AuthError::Unauthenticated("Token is malformed.".into()))?;
        revoked.sort();
        revoked.dedup();
        for token_id in revoked {
            self.inner
                .bus
                .publish(Event::SessionRevoked { user_id, token_id });
        }
        Ok(())
    }

    /// Records the revocation of a token pair until the later of its two expiries: a
    /// session token's pair holds a refresh token that lives `auth.refresh_ttl_secs` from
    /// the same issue time, and pruning the record sooner would bring that back to life.
    fn revoke(&self, claims: &Claims) -> Result<String, AuthError> {
        let until = claims
            .exp
            .max(claims.iat.saturating_add(self.inner.refresh_ttl));
        self.inner.revoked.insert(text_key(&claims.tid), &until)?;
        Ok(claims.tid.clone())
    }

    /// Forgets revocations of tokens that have expired anyway. Returns how many.
    pub fn prune_revoked(&self) -> Result<usize, AuthError> {
        self.prune_revoked_at(crate::time::now())
    }

    fn prune_revoked_at(&self, now: i64) -> Result<usize, AuthError> {
        let mut n = 0;
        for entry in self.inner.revoked.iter::<i64>() {
            let (k, exp) = entry?;
            if exp < now {
                self.inner.revoked.remove(k)?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn account(&self, id: UserId) -> Result<Account, AuthError> {
        self.inner
            .accounts
            .get::<Account>(uid_key(id))?
            .ok_or_else(|| AuthError::NotFound(format!("user {id} not found")))
    }

    /// Finds a user by id, username or email; refused when `who` names two different
    /// accounts (a username that is someone else's email), so an operator's command never
    /// lands on the wrong account. See [`Auth::find_by`] to say which one is meant.
    pub fn find(&self, who: &str) -> Result<Account, AuthError> {
        self.find_by(Lookup::Any, who)
    }

    /// Finds a user by what `who` is: a user id, a username, an email, or any of them.
    pub fn find_by(&self, by: Lookup, who: &str) -> Result<Account, AuthError> {
        let who = who.trim();
        let lower = who.to_lowercase();
        let by_id = || -> Result<Option<Account>, AuthError> {
            match Uuid::parse_str(who) {
                Ok(id) => Ok(self.inner.accounts.get::<Account>(uid_key(id))?),
                Err(_) => Ok(None),
            }
        };
        let by_index = |index: &Tree| -> Result<Option<Account>, AuthError> {
            match index.get::<Uuid>(text_key(&lower))? {
                Some(id) => Ok(self.inner.accounts.get::<Account>(uid_key(id))?),
                None => Ok(None),
            }
        };
        let found = match by {
            Lookup::Id => {
                if Uuid::parse_str(who).is_err() {
                    return Err(AuthError::InvalidArgument(format!(
                        "`{who}` is not a user id"
                    )));
                }
                by_id()?
            }
            Lookup::Username => by_index(&self.inner.by_username)?,
            Lookup::Email => by_index(&self.inner.by_email)?,
            Lookup::Any => {
                let mut matches: Vec<(&str, Account)> = Vec::new();
                for (what, found) in [
                    ("user id", by_id()?),
                    ("username", by_index(&self.inner.by_username)?),
                    ("email", by_index(&self.inner.by_email)?),
                ] {
                    if let Some(a) = found {
                        if !matches.iter().any(|(_, m)| m.id == a.id) {
                            matches.push((what, a));
                        }
                    }
                }
                if matches.len() > 1 {
                    let named: Vec<String> = matches
                        .iter()
                        .map(|(what, a)| format!("the {what} of {}", a.id))
                        .collect();
                    return Err(AuthError::InvalidArgument(format!(
                        "`{who}` is ambiguous: it is {}; say which (user id, username or email)",
                        named.join(" and ")
                    )));
                }
                matches.pop().map(|(_, a)| a)
            }
        };
        found.ok_or_else(|| AuthError::NotFound(format!("no user with {} `{who}`", by.describe())))
    }

    /// Every account a support query could mean, each with what matched: an exact user
    /// id, username, email, device id or custom id. Never guesses between two accounts.
    pub fn search(&self, query: &str) -> Result<Vec<(&'static str, Account)>, AuthError> {
        let q = query.trim();
        let mut found: Vec<(&'static str, Account)> = Vec::new();
        if let Ok(id) = Uuid::parse_str(q) {
            if let Ok(a) = self.account(id) {
                found.push(("user_id", a));
            }
        }
        let lower = q.to_lowercase();
        let indexes = [
            ("username", &self.inner.by_username, text_key(&lower)),
            ("email", &self.inner.by_email, text_key(&lower)),
            ("device_id", &self.inner.by_device, text_key(q)),
            ("custom_id", &self.inner.by_custom, text_key(q)),
        ];
        for (what, index, key) in indexes {
            if let Some(id) = index.get::<Uuid>(key)? {
                if !found.iter().any(|(_, a)| a.id == id) {
                    found.push((what, self.account(id)?));
                }
            }
        }
        Ok(found)
    }

    pub fn count(&self) -> usize {
        use std::sync::atomic::Ordering;
        let known = self.inner.count.load(Ordering::Acquire);
        if known >= 0 {
            return known as usize;
        }
        let n = self.inner.accounts.len() as i64;
        // Creations since the walk began have bumped nothing (-1): count them now.
        let _ = self
            .inner
            .count
            .compare_exchange(-1, n, Ordering::AcqRel, Ordering::Acquire);
        self.inner.count.load(Ordering::Acquire).max(0) as usize
    }

    /// Accounts in id order, after `after` when given.
    pub fn list(&self, limit: usize, after: Option<UserId>) -> Result<Vec<Account>, AuthError> {
        let start = match after {
            Some(id) => {
                let mut k = uid_key(id).into_vec();
                k.push(0);
                k
            }
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for entry in self.inner.accounts.range::<Account, _, _>(start..) {
            out.push(entry?.1);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    pub async fn update_account(
        &self,
        id: UserId,
        update: AccountUpdate,
    ) -> Result<Account, AuthError> {
        if let Some(u) = &update.username {
            rules::username(u)?;
        }
        for (field, value, max) in [
            ("display_name", &update.display_name, 255),
            ("avatar_url", &update.avatar_url, 512),
            ("lang_tag", &update.lang_tag, 18),
            ("location", &update.location, 255),
            ("timezone", &update.timezone, 255),
        ] {
            if let Some(v) = value {
                rules::text(field, v, max)?;
            }
        }
        if let Some(m) = &update.metadata {
            rules::metadata(m)?;
        }
        let i = &self.inner;
        let result = Tree::transaction(&[&i.accounts, &i.by_username], |tx| {
            let mut account: Account = tx
                .get(0, uid_key(id))?
                .ok_or(Abort::Fail(Outcome::Missing))?;
            if let Some(new_name) = &update.username {
                let new_key = text_key(&new_name.to_lowercase());
                if new_key != text_key(&account.username.to_lowercase()) {
                    if tx
                        .get::<Uuid, _>(1, &new_key)?
                        .is_some_and(|owner| owner != id)
                    {
                        return Err(Abort::Fail(Outcome::UsernameTaken));
                    }
                    tx.remove(1, text_key(&account.username.to_lowercase()))?;
                    tx.insert(1, &new_key, &id)?;
                }
                account.username = new_name.clone();
            }
            let set = |target: &mut String, v: &Option<String>| {
                if let Some(v) = v {
                    *target = v.clone();
                }
            };
            set(&mut account.display_name, &update.display_name);
            set(&mut account.avatar_url, &update.avatar_url);
            set(&mut account.lang_tag, &update.lang_tag);
            set(&mut account.location, &update.location);
            set(&mut account.timezone, &update.timezone);
            set(&mut account.metadata, &update.metadata);
            account.update_time = crate::time::now();
            tx.insert(0, uid_key(id), &account)?;
            Ok(account)
        });
        let account = result.map_err(|e| match e {
            Outcome::UsernameTaken => {
                AuthError::AlreadyExists("Username is already in use.".into())
            }
            Outcome::Missing | Outcome::CredentialTaken => {
                AuthError::NotFound(format!("user {id} not found"))
            }
            Outcome::Store(s) => AuthError::Store(s),
        })?;
        self.inner.store.durable().await?;
        Ok(account)
    }

    pub async fn set_role(&self, id: UserId, role: Role) -> Result<Account, AuthError> {
        // In a transaction, so a rename racing with it is not overwritten.
        let account = Tree::transaction(&[&self.inner.accounts], |tx| {
            let mut account: Account = tx
                .get(0, uid_key(id))?
                .ok_or(Abort::Fail(Outcome::Missing))?;
            account.role = role;
            account.update_time = crate::time::now();
            tx.insert(0, uid_key(id), &account)?;
            Ok(account)
        })
        .map_err(|e| match e {
            Outcome::Store(s) => AuthError::Store(s),
            _ => AuthError::NotFound(format!("user {id} not found")),
        })?;
        self.inner.store.durable().await?;
        Ok(account)
    }

    pub fn active_ban(&self, id: UserId) -> Result<Option<Ban>, AuthError> {
        Ok(self
            .inner
            .bans
            .get::<Ban>(uid_key(id))?
            .filter(|b| b.is_active(crate::time::now())))
    }

    fn refuse_if_banned(&self, id: UserId) -> Result<(), AuthError> {
        match self.active_ban(id)? {
            Some(ban) => Err(AuthError::Banned { ban }),
            None => Ok(()),
        }
    }

    /// Bans a user now: their tokens stop working at once and live connections are closed.
    pub async fn ban(
        &self,
        id: UserId,
        until: Option<i64>,
        reason: &str,
        by: &str,
    ) -> Result<Ban, AuthError> {
        self.account(id)?;
        let ban = Ban {
            user_id: id,
            reason: reason.to_string(),
            by: by.to_string(),
            created_at: crate::time::now(),
            until,
        };
        self.inner.bans.insert(uid_key(id), &ban)?;
        self.inner.store.durable().await?;
        self.inner.bus.publish(Event::Banned {
            user_id: id,
            reason: ban.reason.clone(),
        });
        Ok(ban)
    }

    /// Lifts a ban; false when there was none.
    pub async fn unban(&self, id: UserId) -> Result<bool, AuthError> {
        let removed = self.inner.bans.remove(uid_key(id))?;
        self.inner.store.durable().await?;
        Ok(removed)
    }

    /// Bans, newest first; `all` includes those that have lifted.
    pub fn bans(&self, all: bool) -> Result<Vec<Ban>, AuthError> {
        let now = crate::time::now();
        let mut v = Vec::new();
        for entry in self.inner.bans.iter::<Ban>() {
            let (_, b) = entry?;
            if all || b.is_active(now) {
                v.push(b);
            }
        }
        v.sort_by_key(|b| std::cmp::Reverse(b.created_at));
        Ok(v)
    }
}

/// What a name given to an operator's command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// A user id, a username or an email, refused when it could be two accounts.
    #[default]
    Any,
    Id,
    Username,
    Email,
}

impl Lookup {
    fn describe(self) -> &'static str {
        match self {
            Lookup::Any => "id, username or email",
            Lookup::Id => "id",
            Lookup::Username => "username",
            Lookup::Email => "email",
        }
    }
}

fn busy(_: password::Busy) -> AuthError {
    AuthError::RateLimited {
        retry_after_secs: 1,
    }
}

/// Transaction outcomes of account writes.
enum Outcome {
    CredentialTaken,
    Missing,
    UsernameTaken,
    Store(StoreError),
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Self {
        Outcome::Store(e)
    }
}

fn token_error(e: TokenError) -> AuthError {
    AuthError::Unauthenticated(match e {
        TokenError::Expired => "Auth token has expired.".into(),
        TokenError::BadSignature | TokenError::Malformed => "Auth token invalid.".into(),
    })
}

fn check_vars(vars: &BTreeMap<String, String>) -> Result<(), AuthError> {
    if vars.len() > 32 {
        return Err(AuthError::InvalidArgument(
            "vars: at most 32 entries".into(),
        ));
    }
    for (k, v) in vars {
        if k.is_empty() || k.len() > 64 || v.len() > 256 {
            return Err(AuthError::InvalidArgument(
                "vars: keys must be 1-64 bytes and values at most 256 bytes".into(),
            ));
        }
    }
    if let Some(g) = vars.get("game_id") {
        if Uuid::parse_str(g).is_err() {
            return Err(AuthError::InvalidArgument(format!(
                "vars.game_id `{g}` is not a UUID"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(dir: &std::path::Path) -> Auth {
        let store = Store::open(dir, 100).unwrap();
        let secrets = Secrets {
            server_key: "server-key-1".into(),
            http_key: "http-key-12".into(),
            session_secret: "session-secret-for-tests".into(),
            refresh_secret: "refresh-secret-for-tests".into(),
        };
        Auth::new(&store, secrets, &AuthConfig::default(), Bus::new()).unwrap()
    }

    #[tokio::test]
    async fn a_logout_outlives_the_session_token_so_pruning_never_revives_the_refresh_token() {
        let dir = tempfile::tempdir().unwrap();
        let auth = auth(dir.path());
        let done = auth
            .authenticate(
                Credential::Device("device-prune-0001".into()),
                true,
                None,
                BTreeMap::new(),
            )
            .await
            .unwrap();
        let mut events = auth.inner.bus.subscribe();
        // A logout with no body: only the session token is presented.
        auth.logout(&done.session.claims, None, None).await.unwrap();
        match events.try_recv() {
            Ok(Event::SessionRevoked { user_id, token_id }) => {
                assert_eq!(user_id, done.account.id);
                assert_eq!(token_id, done.session.claims.tid);
            }
            other => panic!("expected SessionRevoked, got {other:?}"),
        }
        // The session token's 2 h are long over; the refresh token's 30 days are not.
        let later = crate::time::now() + 3 * 3600;
        assert_eq!(auth.prune_revoked_at(later).unwrap(), 0);
        let err = auth
            .refresh(&done.session.refresh_token, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("revoked"), "{err}");
        // Once the refresh token has expired too, the record may go.
        let after_refresh = crate::time::now() + 31 * 24 * 3600;
        assert_eq!(auth.prune_revoked_at(after_refresh).unwrap(), 1);
    }

    #[tokio::test]
    async fn a_name_that_is_two_accounts_is_refused_unless_the_kind_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let auth = auth(dir.path());
        let owner = auth
            .authenticate(
                Credential::Email {
                    email: "owner@studio.com".into(),
                    password: "correct horse".into(),
                },
                true,
                None,
                BTreeMap::new(),
            )
            .await
            .unwrap()
            .account;
        let player = auth
            .authenticate(
                Credential::Device("device-rename-0001".into()),
                true,
                None,
                BTreeMap::new(),
            )
            .await
            .unwrap()
            .account;
        // New names with `@` are refused…
        let err = auth
            .update_account(
                player.id,
                AccountUpdate {
                    username: Some("owner@studio.com".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains('@'), "{err}");
        // …but an account renamed before that rule still must not capture the lookup.
        let mut renamed = auth.account(player.id).unwrap();
        renamed.username = "owner@studio.com".into();
        auth.inner
            .accounts
            .insert(uid_key(player.id), &renamed)
            .unwrap();
        auth.inner
            .by_username
            .insert(text_key("owner@studio.com"), &player.id)
            .unwrap();
        let err = auth.find("owner@studio.com").unwrap_err();
        assert!(err.to_string().contains("ambiguous"), "{err}");
        assert_eq!(
            auth.find_by(Lookup::Email, "owner@studio.com").unwrap().id,
            owner.id
        );
        assert_eq!(
            auth.find_by(Lookup::Username, "owner@studio.com")
                .unwrap()
                .id,
            player.id
        );
        assert!(auth.find_by(Lookup::Id, "owner@studio.com").is_err());
    }
}
