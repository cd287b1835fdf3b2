//! Seeded fault injection against a session, and the figures it produced.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use consult_recorder::events::{Event, Status};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Mutex, broadcast};
use tokio::time::{Instant, sleep};

use crate::proxy::FaultProxy;
use crate::server::{Options, TestServer};

/// A reference server that can be restarted on the same port.
pub struct Restartable {
    server: Mutex<Option<TestServer>>,
    options: Box<dyn Fn() -> Options + Send + Sync>,
}

impl Restartable {
    /// Starts a server; `options` is called again for each restart.
    pub async fn start(options: impl Fn() -> Options + Send + Sync + 'static) -> Arc<Self> {
        let server = TestServer::start(options()).await;
        Arc::new(Self {
            server: Mutex::new(Some(server)),
            options: Box::new(options),
        })
    }

    /// The server's origin (for the admin endpoints, which bypass the proxy).
    pub async fn http_url(&self) -> String {
        self.server
            .lock()
            .await
            .as_ref()
            .expect("server running")
            .http()
    }

    /// The address the server listens on (the same after a restart).
    pub async fn addr(&self) -> std::net::SocketAddr {
        self.server
            .lock()
            .await
            .as_ref()
            .expect("server running")
            .server
            .addr()
    }

    /// Where the running server keeps what it stored for `session`.
    pub async fn session_dir(&self, session: &str) -> std::path::PathBuf {
        self.server
            .lock()
            .await
            .as_ref()
            .expect("server running")
            .session_dir(session)
    }

    /// Stops the server and starts it again on the same port with the same data.
    pub async fn restart(&self) {
        let mut slot = self.server.lock().await;
        let old = slot.take().expect("server running");
        let addr = old.server.addr();
        let dir = old.stop().await;
        *slot = Some(TestServer::start_in((self.options)().bind(addr), dir).await);
    }
}

/// Faults injected, by kind.
#[derive(Debug, Default, Clone)]
pub struct FaultCounts(pub BTreeMap<&'static str, u32>);

/// Injects faults at seeded random moments until `stop` resolves.
pub async fn inject(
    seed: u64,
    proxy: &FaultProxy,
    server: &Restartable,
    restart_at_step: Option<u32>,
    stop: impl std::future::Future<Output = ()>,
) -> FaultCounts {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut counts = FaultCounts::default();
    let faults = async {
        let mut step = 0u32;
        loop {
            sleep(Duration::from_millis(rng.random_range(800..2500))).await;
            step += 1;
            if restart_at_step == Some(step) {
                *counts.0.entry("server restart").or_default() += 1;
                server.restart().await;
                continue;
            }
            match rng.random_range(0..100) {
                0..40 => {
                    *counts.0.entry("cut (RST)").or_default() += 1;
                    proxy.cut_all();
                }
                40..60 => {
                    *counts.0.entry("offline window").or_default() += 1;
                    proxy.set_refusing(true);
                    proxy.cut_all();
                    sleep(Duration::from_millis(rng.random_range(500..3000))).await;
                    proxy.set_refusing(false);
                }
                60..80 => {
                    *counts.0.entry("stall (half-open)").or_default() += 1;
                    proxy.set_stalled(true);
                    sleep(Duration::from_millis(rng.random_range(1000..5000))).await;
                    proxy.set_stalled(false);
                }
                _ => {
                    *counts.0.entry("throttle").or_default() += 1;
                    proxy.set_throttle(Some(rng.random_range(16_000..128_000)));
                    sleep(Duration::from_millis(rng.random_range(1000..3000))).await;
                    proxy.set_throttle(None);
                }
            }
        }
    };
    tokio::select! {
        _ = faults => unreachable!("the fault loop never ends by itself"),
        _ = stop => {}
    }
    proxy.set_refusing(false);
    proxy.set_stalled(false);
    proxy.set_throttle(None);
    counts
}

/// What the session's events say about its connection.
#[derive(Debug, Default)]
pub struct ConnectionFigures {
    /// How many times the session began reconnecting (first attempts only).
    pub reconnects: u32,
    /// For each outage, the time from losing the connection to having it back.
    pub recoveries: Vec<Duration>,
    /// The messages of the session's warning events, in order.
    pub warnings: Vec<String>,
}

impl ConnectionFigures {
    /// The median and the longest recovery; zero when there were none.
    pub fn recovery_p50_and_max(&self) -> (Duration, Duration) {
        let mut sorted = self.recoveries.clone();
        sorted.sort();
        let p50 = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
        (p50, sorted.last().copied().unwrap_or_default())
    }
}

/// Follows a session's events until it completes or fails.
pub async fn watch_events(
    mut events: broadcast::Receiver<Event>,
) -> (ConnectionFigures, Option<Status>) {
    let mut figures = ConnectionFigures::default();
    let mut lost_at: Option<Instant> = None;
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return (figures, None),
        };
        match event {
            Event::Status { status, .. } => match status {
                Status::Reconnecting { attempt: 1, .. } => {
                    figures.reconnects += 1;
                    lost_at.get_or_insert_with(Instant::now);
                }
                Status::Reconnecting { .. } | Status::Offline { .. } => {
                    lost_at.get_or_insert_with(Instant::now);
                }
                Status::Connected | Status::UploadingBacklog { .. } => {
                    if let Some(at) = lost_at.take() {
                        figures.recoveries.push(at.elapsed());
                    }
                }
                Status::Complete | Status::Sent | Status::Failed { .. } => {
                    return (figures, Some(status));
                }
                _ => {}
            },
            Event::Warning { message, .. } => figures.warnings.push(message),
            _ => {}
        }
    }
}
