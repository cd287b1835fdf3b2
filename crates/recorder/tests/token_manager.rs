//! The token manager under a paused clock: hours of consultation in milliseconds.
//!
//! The auth server here is a stub on purpose: the reference server stamps tokens
//! with the wall clock, which a paused Tokio clock cannot move. The stub's clock
//! is Tokio's (plus an optional skew), so `exp` means exactly what it would on a
//! real server. The vault is in memory for the same reason; the real keychain
//! is tested in `keychain.rs`. Rotation and reuse detection against the real
//! server are tested in the e2e crate.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_recorder::auth::read_times;
use consult_recorder::auth::{
    AuthBackend, AuthError, AuthEvent, AuthState, IssuedTokens, ManagerOptions, Secret,
    TokenManager, TokenUnavailable,
};
use jsonwebtoken::{EncodingKey, Header, encode};
use tokio::time::{Instant, advance, sleep};

mod support;
use support::MemoryVault;

struct StubState {
    /// The laptop's wall clock when the stub started; the stub's clock runs from
    /// there on Tokio's (paused) clock, plus `skew_secs`.
    epoch: u64,
    started: Instant,
    skew_secs: i64,
    /// Seconds the laptop slept: the server's clock ran on, Tokio's did not.
    slept_secs: AtomicU64,
    ttl: u64,
    with_iat: bool,
    refresh_delay: Duration,
    refreshes: AtomicU32,
    offline_until: Mutex<Option<Instant>>,
    revoked: AtomicBool,
    current_refresh: Mutex<String>,
}

#[derive(Clone)]
struct StubServer(Arc<StubState>);

impl StubServer {
    fn new(ttl: u64) -> Self {
        Self(Arc::new(StubState {
            epoch: consult_recorder::clock::unix_secs(),
            started: Instant::now(),
            skew_secs: 0,
            slept_secs: AtomicU64::new(0),
            ttl,
            with_iat: true,
            refresh_delay: Duration::ZERO,
            refreshes: AtomicU32::new(0),
            offline_until: Mutex::new(None),
            revoked: AtomicBool::new(false),
            current_refresh: Mutex::new(String::new()),
        }))
    }

    fn with(ttl: u64, change: impl FnOnce(&mut StubState)) -> Self {
        let mut stub = Self::new(ttl);
        change(Arc::get_mut(&mut stub.0).unwrap());
        stub
    }

    /// The server's clock: Tokio's clock since start, plus its skew.
    fn now(&self) -> u64 {
        (self.0.epoch as i64
            + self.0.started.elapsed().as_secs() as i64
            + self.0.skew_secs
            + self.0.slept_secs.load(Ordering::SeqCst) as i64) as u64
    }

    fn refreshes(&self) -> u32 {
        self.0.refreshes.load(Ordering::SeqCst)
    }

    fn go_offline_for(&self, duration: Duration) {
        *self.0.offline_until.lock().unwrap() = Some(Instant::now() + duration);
    }

    fn issue(&self) -> IssuedTokens {
        let now = self.now();
        let mut claims = serde_json::json!({
            "sub": "doc@clinic.test",
            "exp": now + self.0.ttl,
            "jti": rand::random::<u64>(),
        });
        if self.0.with_iat {
            claims["iat"] = now.into();
        }
        let access = encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(b"stub"),
        )
        .unwrap();
        let refresh = format!("refresh-{}", rand::random::<u64>());
        *self.0.current_refresh.lock().unwrap() = refresh.clone();
        let access = Secret::new(access);
        IssuedTokens {
            times: read_times(&access).unwrap(),
            access,
            refresh: Secret::new(refresh),
            server_date: Some(now),
            received_at: Instant::now(),
        }
    }
}

impl AuthBackend for StubServer {
    async fn login(&self, _email: &str, _password: &Secret) -> Result<IssuedTokens, AuthError> {
        Ok(self.issue())
    }

    async fn refresh(&self, token: &Secret) -> Result<IssuedTokens, AuthError> {
        if !self.0.refresh_delay.is_zero() {
            sleep(self.0.refresh_delay).await;
        }
        let offline = self
            .0
            .offline_until
            .lock()
            .unwrap()
            .is_some_and(|t| Instant::now() < t);
        if offline {
            return Err(AuthError::Unreachable("connection refused".into()));
        }
        if self.0.revoked.load(Ordering::SeqCst)
            || token.expose() != *self.0.current_refresh.lock().unwrap()
        {
            return Err(AuthError::SignInRequired("Refresh token revoked".into()));
        }
        self.0.refreshes.fetch_add(1, Ordering::SeqCst);
        Ok(self.issue())
    }
}

async fn signed_in(
    stub: &StubServer,
    vault: &MemoryVault,
    options: ManagerOptions,
) -> TokenManager {
    let manager = TokenManager::start(stub.clone(), vault.clone(), options);
    manager
        .sign_in("doc@clinic.test", Secret::new("pw"))
        .await
        .unwrap();
    manager
}

/// A manager with default options signed in to `stub`, its refresh token in a
/// vault of its own: what most of these tests need and nothing more.
async fn signed_in_alone(stub: &StubServer) -> TokenManager {
    signed_in(stub, &MemoryVault::default(), ManagerOptions::default()).await
}

/// Asks for a token every `every` for `total`, asserting each is valid on the
/// server's clock when handed out.
async fn consult(
    manager: &TokenManager,
    stub: &StubServer,
    total: Duration,
    every: Duration,
) -> u32 {
    let end = Instant::now() + total;
    let mut handed_out = 0;
    while Instant::now() < end {
        let token = manager
            .access_token()
            .await
            .expect("a token is always available");
        let exp = read_times(&token).unwrap().exp;
        assert!(exp > stub.now(), "token expired {} s ago", stub.now() - exp);
        handed_out += 1;
        sleep(every).await;
    }
    handed_out
}

/// Asks `manager` for a token, which must come (`why` says why), and asserts
/// it is valid on the server's clock: how each recovery is judged.
async fn assert_valid_token(manager: &TokenManager, stub: &StubServer, why: &str) {
    let token = manager.access_token().await.expect(why);
    assert!(read_times(&token).unwrap().exp > stub.now());
}

#[tokio::test(start_paused = true)]
async fn a_four_hour_consultation_with_one_minute_tokens_never_sees_an_expired_token() {
    let stub = StubServer::new(60);
    let vault = MemoryVault::default();
    let manager = signed_in(&stub, &vault, ManagerOptions::default()).await;
    let four_hours = Duration::from_secs(4 * 3600);
    let handed_out = consult(&manager, &stub, four_hours, Duration::from_millis(6_700)).await;
    assert!(handed_out > 2000);
    // Refresh at half the 60 s life, minus up to 3 s of jitter: 27–30 s per cycle.
    let cycles = stub.refreshes();
    assert!((480..=534).contains(&cycles), "{cycles} refreshes in 4 h");
    // The keychain always holds the current refresh token.
    let saved = vault.get("doc@clinic.test").unwrap();
    assert_eq!(saved, *stub.0.current_refresh.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn twenty_concurrent_callers_share_exactly_one_refresh() {
    let stub = StubServer::with(60, |s| s.refresh_delay = Duration::from_millis(500));
    let vault = MemoryVault::default();
    let manager = signed_in(&stub, &vault, ManagerOptions::default()).await;
    // The callers arrive after the token expired (the process was starved, say),
    // so every one of them must wait for the refresh.
    advance(Duration::from_secs(120)).await;
    let callers: Vec<_> = (0..20)
        .map(|_| {
            let m = manager.clone();
            tokio::spawn(async move { m.access_token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap().unwrap().expose().to_owned());
    }
    assert_eq!(stub.refreshes(), 1, "one refresh served all twenty");
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "all twenty got the same fresh token");
    assert!(read_times(&Secret::new(tokens[0].clone())).unwrap().exp > stub.now());
}

#[tokio::test(start_paused = true)]
async fn tokens_shorter_than_the_safety_floor_are_still_handed_out() {
    // A server with 3-second tokens: the 5 s floor shrinks to a quarter of the life.
    let stub = StubServer::new(3);
    let manager = signed_in_alone(&stub).await;
    let a_minute = Duration::from_secs(60);
    consult(&manager, &stub, a_minute, Duration::from_millis(700)).await;
}

#[tokio::test(start_paused = true)]
async fn a_laptop_clock_five_minutes_off_still_refreshes_in_time() {
    let an_hour = Duration::from_secs(3600);
    for skew in [-300i64, 300] {
        // With iat in the token, and without it, using the Date header.
        for with_iat in [true, false] {
            let stub = StubServer::with(60, |s| {
                s.skew_secs = skew;
                s.with_iat = with_iat;
            });
            let manager = signed_in_alone(&stub).await;
            if with_iat {
                match manager.state() {
                    AuthState::SignedIn {
                        clock_skew_secs, ..
                    } => {
                        assert!(
                            (clock_skew_secs - skew).abs() <= 1,
                            "skew {clock_skew_secs} seen"
                        )
                    }
                    other => panic!("{other:?}"),
                }
            }
            consult(&manager, &stub, an_hour, Duration::from_secs(7)).await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_network_outage_during_refresh_retries_and_keeps_the_session() {
    let stub = StubServer::new(60);
    let manager = signed_in_alone(&stub).await;
    let mut events = manager.subscribe();
    // The outage starts just before the first refresh (at ~27–30 s) and lasts 20 s.
    advance(Duration::from_secs(25)).await;
    stub.go_offline_for(Duration::from_secs(20));
    let two_minutes = Duration::from_secs(120);
    consult(&manager, &stub, two_minutes, Duration::from_secs(2)).await;
    let mut failures = 0;
    while let Ok(event) = events.try_recv() {
        if let AuthEvent::RefreshFailed { .. } = event {
            failures += 1;
        }
        assert!(!matches!(
            event,
            AuthEvent::SignInRequired { .. } | AuthEvent::SignedOut
        ));
    }
    assert!(
        failures >= 2,
        "the failed refreshes were reported ({failures})"
    );
    assert!(matches!(manager.state(), AuthState::SignedIn { .. }));
}

#[tokio::test(start_paused = true)]
async fn an_outage_longer_than_the_token_reports_offline_then_recovers() {
    let stub = StubServer::new(60);
    let manager = signed_in_alone(&stub).await;
    stub.go_offline_for(Duration::from_secs(180));
    advance(Duration::from_secs(90)).await;
    // Let the manager's retries run at the paused clock's pace.
    sleep(Duration::from_millis(1)).await;
    match manager.access_token().await {
        Err(TokenUnavailable::Offline(reason)) => assert!(reason.contains("reach"), "{reason}"),
        other => panic!("expected offline, got {other:?}"),
    }
    assert!(
        matches!(manager.state(), AuthState::SignedIn { .. }),
        "not signed out for a network error"
    );
    // The outage ends at 180 s; retries back off to at most 30 s.
    sleep(Duration::from_secs(150)).await;
    assert_valid_token(&manager, &stub, "tokens flow again after the outage").await;
}

#[tokio::test(start_paused = true)]
async fn a_401_on_refresh_means_sign_in_required_and_forgets_the_dead_token() {
    let stub = StubServer::new(60);
    let vault = MemoryVault::default();
    let manager = signed_in(&stub, &vault, ManagerOptions::default()).await;
    let mut events = manager.subscribe();
    stub.0.revoked.store(true, Ordering::SeqCst);
    sleep(Duration::from_secs(61)).await;
    assert_eq!(
        events.recv().await.unwrap(),
        AuthEvent::SignInRequired {
            reason: "Refresh token revoked".into()
        }
    );
    assert!(matches!(manager.state(), AuthState::SignInRequired { .. }));
    assert!(matches!(
        manager.access_token().await,
        Err(TokenUnavailable::SignInRequired(_))
    ));
    assert!(
        vault.0.lock().unwrap().is_empty(),
        "the dead refresh token was removed"
    );

    // Signing in again brings the tokens back.
    stub.0.revoked.store(false, Ordering::SeqCst);
    manager
        .sign_in("doc@clinic.test", Secret::new("pw"))
        .await
        .unwrap();
    assert!(manager.access_token().await.is_ok());
}

/// How long the simulated laptop has slept; read by [`laptop_wall_clock`].
static LAPTOP_SLEPT: AtomicU64 = AtomicU64::new(0);

/// This machine's wall clock, which keeps counting while the laptop sleeps.
fn laptop_wall_clock() -> u64 {
    consult_recorder::clock::unix_secs() + LAPTOP_SLEPT.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn after_the_laptop_sleeps_past_expiry_no_stale_token_is_handed_out() {
    let stub = StubServer::new(600);
    let options = ManagerOptions {
        local_clock: laptop_wall_clock,
        ..ManagerOptions::default()
    };
    let manager = signed_in(&stub, &MemoryVault::default(), options).await;
    sleep(Duration::from_secs(60)).await;

    // The lid closes for 15 minutes: wall clocks (ours and the server's) move on,
    // the monotonic clock does not.
    LAPTOP_SLEPT.store(900, Ordering::SeqCst);
    stub.0.slept_secs.store(900, Ordering::SeqCst);

    // The wall-clock check notices the overdue refresh by itself …
    sleep(Duration::from_secs(11)).await;
    assert_eq!(
        stub.refreshes(),
        1,
        "refreshed on waking, without being asked"
    );
    // … and what is handed out is valid on the server's clock.
    assert_valid_token(&manager, &stub, "a token after waking").await;
}

#[tokio::test(start_paused = true)]
async fn a_token_the_server_refused_is_replaced_at_once() {
    let stub = StubServer::new(600);
    let manager = signed_in_alone(&stub).await;
    let before = manager.access_token().await.unwrap();
    manager.invalidate().await;
    let after = manager.access_token().await.unwrap();
    assert_ne!(before, after);
    assert_eq!(stub.refreshes(), 1);
}

#[tokio::test(start_paused = true)]
async fn starting_offline_keeps_the_saved_sign_in_and_recovers() {
    let stub = StubServer::new(600);
    let vault = MemoryVault::default();
    // A previous run signed in and saved its refresh token.
    let first = signed_in(&stub, &vault, ManagerOptions::default()).await;
    drop(first);
    stub.go_offline_for(Duration::from_secs(20));
    let manager = TokenManager::start(stub.clone(), vault.clone(), ManagerOptions::default());
    assert!(
        manager.resume("doc@clinic.test").await.is_err(),
        "the server is unreachable"
    );
    assert!(
        matches!(manager.state(), AuthState::SignedIn { .. }),
        "offline, not signed out"
    );
    assert!(matches!(
        manager.access_token().await,
        Err(TokenUnavailable::Offline(_))
    ));
    sleep(Duration::from_secs(40)).await;
    assert_valid_token(&manager, &stub, "recovered once the server is back").await;
}
