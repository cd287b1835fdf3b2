//! The one owner of the tokens: signs in, keeps a valid access token, refreshes
//! it before it expires, and says when a person must sign in again.
//!
//! An actor: one task holds the tokens; everyone else asks by message. Exactly
//! one refresh runs at a time and every caller that needs a token waits on it.
//! The access token exists only in this task's memory (and in the copies handed
//! to callers, which zero themselves on drop); the refresh token lives in the
//! keychain and here.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, sleep_until};

use super::Secret;
use super::client::{AuthClient, AuthError, IssuedTokens};
use super::keychain::{EntryKey, Keychain, KeychainError};
use super::schedule::{ServerNow, plan};
use crate::backoff::Backoff;
use crate::clock::unix_secs;

/// Signs in and refreshes; [`AuthClient`] in the product, a stub in timing tests.
pub trait AuthBackend: Send + Sync + 'static {
    /// Signs in with an e-mail and password.
    fn login(
        &self,
        email: &str,
        password: &Secret,
    ) -> impl Future<Output = Result<IssuedTokens, AuthError>> + Send;
    /// Trades a refresh token for new tokens.
    fn refresh(
        &self,
        refresh_token: &Secret,
    ) -> impl Future<Output = Result<IssuedTokens, AuthError>> + Send;
}

impl AuthBackend for AuthClient {
    fn login(
        &self,
        email: &str,
        password: &Secret,
    ) -> impl Future<Output = Result<IssuedTokens, AuthError>> + Send {
        AuthClient::login(self, email, password)
    }

    fn refresh(
        &self,
        refresh_token: &Secret,
    ) -> impl Future<Output = Result<IssuedTokens, AuthError>> + Send {
        AuthClient::refresh(self, refresh_token)
    }
}

/// Where refresh tokens are kept: the keychain in the product.
pub trait RefreshTokenVault: Send + Sync + 'static {
    /// Saves `account`'s refresh token, replacing any earlier one.
    fn store(
        &self,
        account: &str,
        token: &Secret,
    ) -> impl Future<Output = Result<(), KeychainError>> + Send;
    /// `account`'s saved refresh token; `None` when there is none.
    fn load(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<Secret>, KeychainError>> + Send;
    /// Removes `account`'s refresh token; `Ok(false)` when there was none.
    fn delete(&self, account: &str) -> impl Future<Output = Result<bool, KeychainError>> + Send;
}

/// The keychain entries of one server.
#[derive(Debug, Clone)]
pub struct KeychainVault {
    keychain: Keychain,
    server: String,
}

impl KeychainVault {
    /// The vault of `server`'s accounts, in `keychain`.
    pub fn new(keychain: Keychain, server: &str) -> Self {
        Self {
            keychain,
            server: server.to_owned(),
        }
    }
}

impl RefreshTokenVault for KeychainVault {
    async fn store(&self, account: &str, token: &Secret) -> Result<(), KeychainError> {
        let key = EntryKey::refresh_token(&self.server, account);
        self.keychain.store(&key, token).await
    }

    async fn load(&self, account: &str) -> Result<Option<Secret>, KeychainError> {
        let key = EntryKey::refresh_token(&self.server, account);
        self.keychain.load(&key).await
    }

    async fn delete(&self, account: &str) -> Result<bool, KeychainError> {
        let key = EntryKey::refresh_token(&self.server, account);
        self.keychain.delete(&key).await
    }
}

/// What the app shows about signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AuthState {
    /// Nobody is signed in.
    SignedOut,
    /// Signed in. After a failed resume the refresh token alone is held (and
    /// `access_expires_at` is 0) while a refresh is retried.
    SignedIn {
        /// The account: the access token's subject, or the e-mail signed in with.
        account: String,
        /// Access-token expiry on the server's clock, Unix seconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        access_expires_at: u64,
        /// Server clock minus this machine's clock, seconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        clock_skew_secs: i64,
    },
    /// The server ended the sign-in; recording goes on, uploads wait.
    SignInRequired {
        /// The account that must sign in again (empty when none was signed in).
        account: String,
        /// Why, in words for the person.
        reason: String,
    },
}

/// Something that happened to the sign-in, for the app's event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuthEvent {
    /// A sign-in succeeded, with a password or from the keychain.
    SignedIn {
        /// The account: the access token's subject, or the e-mail signed in with.
        account: String,
        /// Access-token expiry on the server's clock, Unix seconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        access_expires_at: u64,
    },
    /// A new access token arrived.
    Refreshed {
        /// Its expiry on the server's clock, Unix seconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        access_expires_at: u64,
    },
    /// A refresh failed; the tokens are kept and it is tried again.
    RefreshFailed {
        /// Failed attempts since the last success, this one included.
        attempt: u32,
        /// Milliseconds until the next attempt.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_in_ms: u64,
        /// Why it failed, in words.
        reason: String,
    },
    /// The server ended the sign-in; the dead refresh token was removed.
    SignInRequired {
        /// Why, in words for the person.
        reason: String,
    },
    /// The person signed out.
    SignedOut,
    /// The new refresh token could not be saved: this sign-in will not survive a restart.
    KeychainFailed {
        /// The keychain's error.
        reason: String,
    },
}

/// Why no access token can be handed out right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenUnavailable {
    /// Nobody is signed in.
    #[error("not signed in")]
    SignedOut,
    /// The server ended the sign-in; holds why.
    #[error("sign-in required: {0}")]
    SignInRequired(String),
    /// The token expired and refreshing it failed; holds why. A retry is
    /// scheduled, so this may pass.
    #[error("the access token expired and refreshing it failed: {0}")]
    Offline(String),
    /// The manager's task has ended.
    #[error("the sign-in service has stopped")]
    Stopped,
}

/// Why signing in failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The server refused, or could not be reached.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The refresh token could not be saved or read.
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    /// The keychain holds no refresh token for this account; holds the account.
    #[error("no saved sign-in for {0}")]
    NothingSaved(String),
    /// The manager's task has ended.
    #[error("the sign-in service has stopped")]
    Stopped,
}

/// Knobs of the manager; the defaults suit the product.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// A token closer than this to expiry (or than a quarter of its life, for
    /// very short tokens) is not handed out.
    pub min_validity: Duration,
    /// The wait after the first failed refresh; it doubles from there.
    pub first_retry: Duration,
    /// The longest wait between refresh attempts.
    pub max_retry: Duration,
    /// This machine's clock (tests skew it).
    pub local_clock: fn() -> u64,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            min_validity: Duration::from_secs(5),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
            local_clock: unix_secs,
        }
    }
}

type Reply<T> = oneshot::Sender<T>;

enum Request {
    AccessToken(Reply<Result<Secret, TokenUnavailable>>),
    SignIn(String, Secret, Reply<Result<(), SignInError>>),
    Resume(String, Reply<Result<(), SignInError>>),
    SignOut(Reply<Result<(), KeychainError>>),
    Invalidate,
    RequireSignIn(String),
}

/// A handle to the token manager. Cheap to clone.
#[derive(Clone)]
pub struct TokenManager {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<AuthEvent>,
    state: watch::Receiver<AuthState>,
}

impl TokenManager {
    /// Starts the manager's task (on the current Tokio runtime), signed out.
    pub fn start<B: AuthBackend, V: RefreshTokenVault>(
        backend: B,
        vault: V,
        options: ManagerOptions,
    ) -> Self {
        let (requests, inbox) = mpsc::channel(64);
        let (events, _) = broadcast::channel(64);
        let (state_tx, state) = watch::channel(AuthState::SignedOut);
        // Refresh retries wait 80–100 % of each step: some spread for laptops
        // whose tokens were issued together, close to the planned deadline.
        let backoff = Backoff::new(options.first_retry, options.max_retry).with_jitter(0.2);
        let actor = Actor {
            backend: Arc::new(backend),
            vault: Arc::new(vault),
            options,
            events: events.clone(),
            state: state_tx,
            session: None,
            refreshing: None,
            retry_at: None,
            backoff,
            last_failure: None,
            waiters: Vec::new(),
        };
        tokio::spawn(actor.run(inbox));
        Self {
            requests,
            events,
            state,
        }
    }

    /// A valid access token, waiting for a refresh in flight when needed.
    pub async fn access_token(&self) -> Result<Secret, TokenUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.ask(Request::AccessToken(reply))
            .await
            .map_err(|_| TokenUnavailable::Stopped)?;
        answer.await.unwrap_or(Err(TokenUnavailable::Stopped))
    }

    /// Signs in with a password; the refresh token goes to the keychain.
    pub async fn sign_in(&self, email: &str, password: Secret) -> Result<(), SignInError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Request::SignIn(email.to_owned(), password, reply))
            .await
            .map_err(|_| SignInError::Stopped)?;
        answer.await.unwrap_or(Err(SignInError::Stopped))
    }

    /// Signs in silently with the refresh token saved in the keychain.
    pub async fn resume(&self, account: &str) -> Result<(), SignInError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Request::Resume(account.to_owned(), reply))
            .await
            .map_err(|_| SignInError::Stopped)?;
        answer.await.unwrap_or(Err(SignInError::Stopped))
    }

    /// Forgets the tokens and removes the keychain entry.
    pub async fn sign_out(&self) -> Result<(), KeychainError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Request::SignOut(reply))
            .await
            .map_err(|_| KeychainError::Stopped)?;
        answer.await.unwrap_or(Err(KeychainError::Stopped))
    }

    /// The server refused the current access token (a 4401 or 1008 close):
    /// stop handing it out and refresh now. The next `access_token` waits.
    pub async fn invalidate(&self) {
        let _ = self.ask(Request::Invalidate).await;
    }

    /// The server keeps refusing fresh tokens: only a new sign-in can help.
    pub async fn require_sign_in(&self, reason: &str) {
        let _ = self.ask(Request::RequireSignIn(reason.to_owned())).await;
    }

    /// The sign-in state now.
    pub fn state(&self) -> AuthState {
        self.state.borrow().clone()
    }

    /// Follows the sign-in state, for a view that shows it.
    pub fn watch_state(&self) -> watch::Receiver<AuthState> {
        self.state.clone()
    }

    /// Sign-in events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<AuthEvent> {
        self.events.subscribe()
    }

    async fn ask(&self, request: Request) -> Result<(), ()> {
        self.requests.send(request).await.map_err(drop)
    }
}

/// The tokens of the signed-in account.
///
/// Deadlines are kept on both clocks: the monotonic one is immune to the wall
/// clock being changed, the wall one keeps counting while the laptop sleeps
/// (the monotonic clock stops during suspend on Linux and macOS).
struct Tokens {
    account: String,
    access: Secret,
    refresh: Secret,
    exp: u64,
    skew_secs: i64,
    expires_at: Instant,
    refresh_at: Instant,
    /// This machine's wall clock at expiry and at the planned refresh.
    expires_wall: u64,
    refresh_wall: u64,
    /// Handed out only with at least this much life left.
    floor: Duration,
}

impl Tokens {
    fn usable(&self, local_now: u64) -> bool {
        Instant::now() + self.floor < self.expires_at
            && local_now + self.floor.as_secs() < self.expires_wall
    }
}

/// How often the wall clock is checked for a refresh that came due while the
/// laptop slept.
const WALL_CLOCK_CHECK: Duration = Duration::from_secs(10);

type RefreshOutcome = Result<(IssuedTokens, Result<(), KeychainError>), AuthError>;
type RefreshFuture = Pin<Box<dyn Future<Output = RefreshOutcome> + Send>>;

struct Actor<B, V> {
    backend: Arc<B>,
    vault: Arc<V>,
    options: ManagerOptions,
    events: broadcast::Sender<AuthEvent>,
    state: watch::Sender<AuthState>,
    session: Option<Tokens>,
    refreshing: Option<RefreshFuture>,
    retry_at: Option<Instant>,
    /// Refresh attempts that failed since the last success.
    backoff: Backoff,
    last_failure: Option<String>,
    waiters: Vec<Reply<Result<Secret, TokenUnavailable>>>,
}

impl<B: AuthBackend, V: RefreshTokenVault> Actor<B, V> {
    async fn run(mut self, mut inbox: mpsc::Receiver<Request>) {
        let mut wall_check = tokio::time::interval(WALL_CLOCK_CHECK);
        wall_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let due = self.next_refresh();
            tokio::select! {
                _ = wall_check.tick() => {
                    let local_now = (self.options.local_clock)();
                    let overdue = self.session.as_ref().is_some_and(|t| local_now >= t.refresh_wall);
                    if overdue && self.retry_at.is_none() {
                        self.start_refresh();
                    }
                }
                request = inbox.recv() => match request {
                    Some(request) => self.handle(request).await,
                    None => break,
                },
                outcome = poll_refresh(&mut self.refreshing), if self.refreshing.is_some() => {
                    self.refreshing = None;
                    self.on_refresh(outcome).await;
                }
                _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    self.start_refresh();
                }
            }
        }
    }

    /// When the next refresh should start, if one should and none is running.
    fn next_refresh(&self) -> Option<Instant> {
        if self.refreshing.is_some() {
            return None;
        }
        let tokens = self.session.as_ref()?;
        Some(self.retry_at.unwrap_or(tokens.refresh_at))
    }

    fn emit(&self, event: AuthEvent) {
        let _ = self.events.send(event);
    }

    fn usable(&self) -> Option<&Tokens> {
        let local_now = (self.options.local_clock)();
        self.session.as_ref().filter(|t| t.usable(local_now))
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::AccessToken(reply) => self.on_access_token(reply),
            Request::SignIn(email, password, reply) => {
                let result = self.sign_in(&email, &password).await;
                let _ = reply.send(result);
            }
            Request::Resume(account, reply) => {
                let result = self.resume(&account).await;
                let _ = reply.send(result);
            }
            Request::SignOut(reply) => {
                let result = self.sign_out().await;
                let _ = reply.send(result);
            }
            Request::RequireSignIn(reason) => self.require_sign_in(reason).await,
            Request::Invalidate => {
                if let Some(tokens) = &mut self.session {
                    tokens.expires_at = Instant::now();
                    tokens.expires_wall = 0;
                    self.retry_at = None;
                    self.start_refresh();
                }
            }
        }
    }

    fn on_access_token(&mut self, reply: Reply<Result<Secret, TokenUnavailable>>) {
        if let Some(tokens) = self.usable() {
            let _ = reply.send(Ok(tokens.access.clone()));
            return;
        }
        match &*self.state.borrow() {
            AuthState::SignedOut => {
                let _ = reply.send(Err(TokenUnavailable::SignedOut));
                return;
            }
            AuthState::SignInRequired { reason, .. } => {
                let _ = reply.send(Err(TokenUnavailable::SignInRequired(reason.clone())));
                return;
            }
            AuthState::SignedIn { .. } => {}
        }
        // Signed in but the token is (nearly) expired.
        if self.refreshing.is_some() {
            self.waiters.push(reply);
        } else if let (Some(retry_at), Some(failure)) = (self.retry_at, &self.last_failure)
            && retry_at > Instant::now()
        {
            // A refresh just failed and the next try is scheduled: say so now
            // rather than keeping the caller waiting through an outage.
            let _ = reply.send(Err(TokenUnavailable::Offline(failure.clone())));
        } else {
            self.waiters.push(reply);
            self.start_refresh();
        }
    }

    fn start_refresh(&mut self) {
        let Some(tokens) = &self.session else { return };
        if self.refreshing.is_some() {
            return;
        }
        let backend = Arc::clone(&self.backend);
        let vault = Arc::clone(&self.vault);
        let refresh_token = tokens.refresh.clone();
        let account = tokens.account.clone();
        self.retry_at = None;
        tracing::debug!("refreshing the access token");
        self.refreshing = Some(Box::pin(async move {
            let issued = backend.refresh(&refresh_token).await?;
            // The server has rotated the refresh token: save the new one before
            // anything uses the new access token.
            let saved = vault.store(&account, &issued.refresh).await;
            Ok((issued, saved))
        }));
    }

    async fn on_refresh(&mut self, outcome: RefreshOutcome) {
        match outcome {
            Ok((issued, saved)) => {
                let Some(account) = self.session.as_ref().map(|t| t.account.clone()) else {
                    return; // signed out while the refresh ran
                };
                if let Err(err) = saved {
                    tracing::error!(error = %err, "cannot save the rotated refresh token");
                    self.emit(AuthEvent::KeychainFailed {
                        reason: err.to_string(),
                    });
                }
                self.adopt(account, issued);
                self.backoff.reset();
                self.last_failure = None;
                let exp = self.session.as_ref().map_or(0, |t| t.exp);
                tracing::info!(access_expires_at = exp, "access token refreshed");
                self.emit(AuthEvent::Refreshed {
                    access_expires_at: exp,
                });
                self.answer_waiters();
            }
            Err(AuthError::SignInRequired(reason)) => self.require_sign_in(reason).await,
            Err(err) => {
                let delay = self.retry_delay();
                let attempt = self.backoff.attempt();
                self.retry_at = Some(Instant::now() + delay);
                self.last_failure = Some(err.to_string());
                tracing::warn!(attempt, retry_in_ms = delay.as_millis() as u64, error = %err, "refresh failed; keeping the session");
                self.emit(AuthEvent::RefreshFailed {
                    attempt,
                    retry_in_ms: delay.as_millis() as u64,
                    reason: err.to_string(),
                });
                self.answer_waiters();
            }
        }
    }

    /// The next step of the backoff (one more failed attempt). While the token
    /// is still valid the delay is kept under a quarter of its remaining life,
    /// so retries speed up as expiry nears; once it has expired there is no
    /// deadline left to meet.
    fn retry_delay(&mut self) -> Duration {
        let remaining = self
            .session
            .as_ref()
            .map(|t| t.expires_at.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        let limit = if remaining.is_zero() {
            Duration::MAX
        } else {
            (remaining / 4).max(self.options.first_retry)
        };
        self.backoff.next_delay_within(limit)
    }

    fn answer_waiters(&mut self) {
        let answer = match (self.usable(), &self.last_failure) {
            (Some(tokens), _) => Ok(tokens.access.clone()),
            (None, Some(failure)) => Err(TokenUnavailable::Offline(failure.clone())),
            (None, None) => Err(TokenUnavailable::Offline("the token expired".into())),
        };
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(answer.clone());
        }
    }

    fn adopt(&mut self, account: String, issued: IssuedTokens) {
        let local_now = (self.options.local_clock)();
        let server_now = ServerNow::pick(&issued.times, issued.server_date, local_now);
        let plan = plan(&issued.times, server_now, local_now, rand::random::<f64>());
        let tokens = Tokens {
            account: account.clone(),
            access: issued.access,
            refresh: issued.refresh,
            exp: issued.times.exp,
            skew_secs: plan.skew_secs,
            expires_at: issued.received_at + plan.valid_for,
            refresh_at: issued.received_at + plan.refresh_after,
            expires_wall: local_now + plan.valid_for.as_secs(),
            refresh_wall: local_now + plan.refresh_after.as_secs(),
            floor: self.options.min_validity.min(plan.valid_for / 4),
        };
        let _ = self.state.send(AuthState::SignedIn {
            account,
            access_expires_at: tokens.exp,
            clock_skew_secs: tokens.skew_secs,
        });
        self.session = Some(tokens);
        self.retry_at = None;
    }

    async fn sign_in(&mut self, email: &str, password: &Secret) -> Result<(), SignInError> {
        let issued = self.backend.login(email, password).await?;
        let account = issued
            .times
            .subject
            .clone()
            .unwrap_or_else(|| email.trim().to_owned());
        self.vault.store(&account, &issued.refresh).await?;
        self.refreshing = None;
        self.adopt(account.clone(), issued);
        let exp = self.session.as_ref().map_or(0, |t| t.exp);
        tracing::info!(%account, access_expires_at = exp, "signed in");
        self.emit(AuthEvent::SignedIn {
            account,
            access_expires_at: exp,
        });
        self.answer_waiters();
        Ok(())
    }

    async fn resume(&mut self, account: &str) -> Result<(), SignInError> {
        let saved = self
            .vault
            .load(account)
            .await?
            .ok_or_else(|| SignInError::NothingSaved(account.to_owned()))?;
        let issued = match self.backend.refresh(&saved).await {
            Ok(issued) => issued,
            Err(AuthError::SignInRequired(reason)) => {
                let _ = self.vault.delete(account).await;
                return Err(AuthError::SignInRequired(reason).into());
            }
            Err(err) => {
                // The server is unreachable: keep the saved sign-in and retry in
                // the background, so the person is "offline", not signed out.
                self.hold_for_retry(account, saved, &err);
                return Err(err.into());
            }
        };
        self.vault.store(account, &issued.refresh).await?;
        self.adopt(account.to_owned(), issued);
        let exp = self.session.as_ref().map_or(0, |t| t.exp);
        tracing::info!(%account, access_expires_at = exp, "signed in from the keychain");
        self.emit(AuthEvent::SignedIn {
            account: account.to_owned(),
            access_expires_at: exp,
        });
        Ok(())
    }

    /// Signed in with a refresh token but no access token yet (the first
    /// refresh failed for a transient reason): retry with backoff.
    fn hold_for_retry(&mut self, account: &str, refresh: Secret, err: &AuthError) {
        let now = Instant::now();
        self.session = Some(Tokens {
            account: account.to_owned(),
            access: Secret::new(""),
            refresh,
            exp: 0,
            skew_secs: 0,
            expires_at: now,
            refresh_at: now,
            expires_wall: 0,
            refresh_wall: 0,
            floor: Duration::ZERO,
        });
        self.backoff.reset();
        self.last_failure = Some(err.to_string());
        self.retry_at = Some(now + self.retry_delay());
        let _ = self.state.send(AuthState::SignedIn {
            account: account.to_owned(),
            access_expires_at: 0,
            clock_skew_secs: 0,
        });
        self.emit(AuthEvent::RefreshFailed {
            attempt: 1,
            retry_in_ms: self
                .retry_at
                .map_or(0, |t| t.saturating_duration_since(now).as_millis() as u64),
            reason: err.to_string(),
        });
    }

    async fn require_sign_in(&mut self, reason: String) {
        let account = self.session.take().map(|t| t.account).unwrap_or_default();
        self.retry_at = None;
        self.backoff.reset();
        self.last_failure = None;
        // The refresh token is dead; keeping it would only fail again at next start.
        if let Err(err) = self.vault.delete(&account).await {
            tracing::warn!(error = %err, "cannot remove the dead refresh token");
        }
        tracing::warn!(%account, %reason, "sign-in required");
        let _ = self.state.send(AuthState::SignInRequired {
            account,
            reason: reason.clone(),
        });
        self.emit(AuthEvent::SignInRequired {
            reason: reason.clone(),
        });
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(Err(TokenUnavailable::SignInRequired(reason.clone())));
        }
    }

    async fn sign_out(&mut self) -> Result<(), KeychainError> {
        let account = match (&self.session, &*self.state.borrow()) {
            (Some(t), _) => Some(t.account.clone()),
            (None, AuthState::SignInRequired { account, .. }) => Some(account.clone()),
            _ => None,
        };
        self.session = None;
        self.refreshing = None;
        self.retry_at = None;
        let _ = self.state.send(AuthState::SignedOut);
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(Err(TokenUnavailable::SignedOut));
        }
        self.emit(AuthEvent::SignedOut);
        if let Some(account) = account {
            self.vault.delete(&account).await?;
        }
        Ok(())
    }
}

async fn poll_refresh(refreshing: &mut Option<RefreshFuture>) -> RefreshOutcome {
    match refreshing {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}
