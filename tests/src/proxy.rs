//! A TCP fault proxy on loopback: sits between a client and the reference
//! server and breaks the connection on purpose.
//!
//! - `cut_all`: reset every live connection (RST, as a dropped Wi-Fi does);
//! - `set_stalled`: stop forwarding without closing, old and new connections
//!   alike (a network that swallows everything);
//! - `stall_open_connections`: stop forwarding on the connections open now,
//!   while new ones work (a half-open connection, as after a NAT forgets it);
//! - `set_throttle`: limit bandwidth;
//! - `set_refusing`: reset new connections at once (an offline window);
//! - `set_upstream`: send new connections to another server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Counts of what the proxy saw and did.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Connections forwarded to the upstream server.
    pub accepted: AtomicU64,
    /// Connections reset at once because the proxy was refusing.
    pub refused: AtomicU64,
    /// Calls to [`FaultProxy::cut_all`], each resetting every live connection.
    pub cuts: AtomicU64,
    /// Bytes clients sent into a stalled connection since the last stall began.
    pub held_back_from_clients: AtomicU64,
}

struct Control {
    upstream: Mutex<SocketAddr>,
    /// Bumped to reset every live connection.
    cut: watch::Sender<u64>,
    stalled: watch::Sender<Stall>,
    /// Numbers the connections, so a stall can hold just the open ones.
    next_connection: AtomicU64,
    refusing: watch::Sender<bool>,
    /// Bytes per second in each direction; 0 means unlimited.
    throttle: AtomicU64,
    stats: ProxyStats,
}

/// A running fault proxy.
pub struct FaultProxy {
    addr: SocketAddr,
    control: Arc<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let control = Arc::new(Control {
            upstream: Mutex::new(upstream),
            cut: watch::Sender::new(0),
            stalled: watch::Sender::new(Stall::None),
            next_connection: AtomicU64::new(0),
            refusing: watch::Sender::new(false),
            throttle: AtomicU64::new(0),
            stats: ProxyStats::default(),
        });
        let accepting = Arc::clone(&control);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let control = Arc::clone(&accepting);
                tokio::spawn(async move { relay(client, control).await });
            }
        });
        Self {
            addr,
            control,
            task,
        }
    }

    /// The proxy's own address, where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's base URL (`http://ADDR`), to give clients as their server.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resets every live connection (RST); new connections still get through.
    pub fn cut_all(&self) {
        self.control.stats.cuts.fetch_add(1, Ordering::Relaxed);
        self.control.cut.send_modify(|g| *g += 1);
    }

    /// Stalls every connection, new ones too; `false` ends any stall.
    pub fn set_stalled(&self, stalled: bool) {
        self.control
            .stalled
            .send_replace(if stalled { Stall::All } else { Stall::None });
    }

    /// Stalls the connections open now; later ones are forwarded as usual.
    pub fn stall_open_connections(&self) {
        let first_spared = self.control.next_connection.load(Ordering::SeqCst);
        self.control
            .stats
            .held_back_from_clients
            .store(0, Ordering::SeqCst);
        self.control
            .stalled
            .send_replace(Stall::Before(first_spared));
    }

    /// While `true`, resets each new connection at once; open ones carry on.
    pub fn set_refusing(&self, refusing: bool) {
        self.control.refusing.send_replace(refusing);
    }

    /// Limits each direction of each connection to about `bytes_per_sec`; `None` lifts the limit.
    pub fn set_throttle(&self, bytes_per_sec: Option<u64>) {
        self.control
            .throttle
            .store(bytes_per_sec.unwrap_or(0), Ordering::Relaxed);
    }

    /// Sends new connections to `upstream`; open ones keep their server.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.control.upstream.lock().expect("upstream lock") = upstream;
    }

    /// What the proxy has counted so far.
    pub fn stats(&self) -> &ProxyStats {
        &self.control.stats
    }
}

/// Makes the socket close with a reset instead of a FIN.
fn reset<S: std::os::fd::AsFd>(socket: &S) {
    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
}

/// A second handle on the socket, kept so a cut can reset it while the pumps
/// own the stream. The reset is sent when the last handle closes.
fn keep_handle(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let kept = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, kept))
}

/// Which connections a stall holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    None,
    All,
    /// Those numbered below this.
    Before(u64),
}

impl Stall {
    fn holds(self, connection: u64) -> bool {
        match self {
            Stall::None => false,
            Stall::All => true,
            Stall::Before(first_spared) => connection < first_spared,
        }
    }
}

/// Which way a pump copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    FromClient,
    ToClient,
}

async fn relay(client: TcpStream, control: Arc<Control>) {
    let connection = control.next_connection.fetch_add(1, Ordering::SeqCst);
    if *control.refusing.borrow() {
        control.stats.refused.fetch_add(1, Ordering::Relaxed);
        reset(&client);
        return;
    }
    let upstream_addr = *control.upstream.lock().expect("upstream lock");
    let Ok(upstream) = TcpStream::connect(upstream_addr).await else {
        reset(&client);
        return;
    };
    control.stats.accepted.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut cut = control.cut.subscribe();
    cut.mark_unchanged();
    let (Ok((client, client_kept)), Ok((upstream, upstream_kept))) =
        (keep_handle(client), keep_handle(upstream))
    else {
        return;
    };
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    let up = pump(
        client_read,
        upstream_write,
        &control,
        connection,
        Direction::FromClient,
    );
    let down = pump(
        upstream_read,
        client_write,
        &control,
        connection,
        Direction::ToClient,
    );
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (None, None);
    loop {
        tokio::select! {
            halves = &mut up, if up_done.is_none() => up_done = Some(halves),
            halves = &mut down, if down_done.is_none() => down_done = Some(halves),
            _ = cut.changed() => {
                // Both sides get a reset when the last handles drop, on return.
                reset(&client_kept);
                reset(&upstream_kept);
                return;
            }
        }
        if up_done.is_some() && down_done.is_some() {
            return;
        }
    }
}

/// Copies one direction until EOF or error, obeying stalls and throttling.
/// Returns the halves so a cut can still reset them.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    control: &Control,
    connection: u64,
    direction: Direction,
) -> (OwnedReadHalf, OwnedWriteHalf) {
    let mut stalled = control.stalled.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Data read during a stall is held until it ends (or a cut drops it);
        // while held, the kernel's buffers fill behind it as on a real link.
        if stalled.borrow_and_update().holds(connection) {
            if direction == Direction::FromClient {
                control
                    .stats
                    .held_back_from_clients
                    .fetch_add(n as u64, Ordering::SeqCst);
            }
            let _ = stalled.wait_for(|s| !s.holds(connection)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        let rate = control.throttle.load(Ordering::Relaxed);
        if rate > 0 {
            tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
        }
    }
    let _ = to.shutdown().await;
    (from, to)
}
