//! While a recording's capture runs, logind lists the recorder's sleep
//! inhibitor; once capture ends it is gone; without logind the doctor is told
//! the computer may sleep, and the recording goes on.
//!
//! logind does not run on the test machines (containers without systemd), so
//! `tests/stand-ins/logind.py` answers for it on the test's private D-Bus
//! session, and the recorder is pointed at that bus as its system bus through
//! `DBUS_SYSTEM_BUS_ADDRESS`, the variable libdbus reads. The stand-in keeps
//! an inhibitor for exactly as long as the descriptor it handed out is open,
//! as logind does.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use consult_recorder::events::{AwakeState, Event};
use consult_recorder::session::{Power, Session, SessionSetup};
use consult_recorder::store::Profile;
use e2e_tests::recording::{Consultation, signed_in};
use e2e_tests::server::{Options, TestServer};
use tokio::sync::broadcast;

/// (what, who, why, mode, uid, pid), as logind lists an inhibitor.
type Inhibitor = (String, String, String, String, u32, u32);

/// The stand-in on the session bus; it exits when its stdin closes.
struct StandIn(Child);

impl StandIn {
    fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/stand-ins/logind.py");
        // Debian's own Python: python3-dbus and python3-gi are installed for it.
        let mut child = Command::new("/usr/bin/python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the logind stand-in starts (python3-dbus, python3-gi)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the stand-in owns org.freedesktop.login1"
        );
        Self(child)
    }

    fn stop(mut self) {
        drop(self.0.stdin.take());
        self.0.wait().unwrap();
    }
}

/// What logind (the stand-in) lists now.
async fn inhibitors() -> Vec<Inhibitor> {
    tokio::task::spawn_blocking(|| {
        let bus = dbus::blocking::Connection::new_session().unwrap();
        let logind = bus.with_proxy(
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            Duration::from_secs(5),
        );
        let (list,): (Vec<Inhibitor>,) = logind
            .method_call("org.freedesktop.login1.Manager", "ListInhibitors", ())
            .unwrap();
        list
    })
    .await
    .unwrap()
}

/// The hold the session reports that `wanted` accepts: already reported
/// (before the test subscribed), or the next such event. The timeout turns a
/// hang into a failure.
async fn awake_state(
    session: &Session,
    events: &mut broadcast::Receiver<Event>,
    wanted: fn(&AwakeState) -> bool,
) -> AwakeState {
    if let Some(state) = session.keep_awake_state().filter(wanted) {
        return state;
    }
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Event::KeepAwake { state, .. } = events.recv().await.unwrap()
                && wanted(&state)
            {
                return state;
            }
        }
    })
    .await
    .expect("the recording reports its hold on sleep")
}

/// A recording of a minute of audio in real time (it is stopped long before).
fn record(
    consultation: &Consultation,
    server: String,
    tokens: consult_recorder::auth::TokenManager,
) -> Session {
    let setup = SessionSetup {
        power: Power::system(),
        ..consultation.setup(Profile::V1, server, tokens)
    };
    consultation.record(setup, 1.0)
}

#[test]
#[ignore = "needs a D-Bus session and python3-dbus; run scripts/test.sh"]
#[allow(unsafe_code)]
fn a_recording_keeps_the_computer_awake_until_capture_ends() {
    let session_bus =
        std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("run inside dbus-run-session");
    // SAFETY: the only test of this binary, and no thread of its own is
    // started yet (the runtime is built below).
    unsafe { std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &session_bus) };
    let standin = StandIn::start();

    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let server = TestServer::start(Options::new()).await;
            let tokens = signed_in(&server.http()).await;

            let consultation = Consultation::new(60 * 16_000, 7);
            let session = record(&consultation, server.http(), tokens.clone());
            let mut events = session.subscribe();
            let answered = |s: &AwakeState| !matches!(s, AwakeState::Released);
            assert_eq!(
                awake_state(&session, &mut events, answered).await,
                AwakeState::Held {
                    by: "systemd-logind inhibitor".into()
                }
            );
            let ours = (
                "sleep:idle".to_owned(),
                "Consult Recorder".to_owned(),
                "Recording a consultation".to_owned(),
                "block".to_owned(),
            );
            let listed: Vec<_> = inhibitors()
                .await
                .into_iter()
                .map(|(what, who, why, mode, _, pid)| ((what, who, why, mode), pid))
                .collect();
            assert_eq!(
                listed,
                vec![(ours, std::process::id())],
                "ours, while recording"
            );

            session.stop();
            let released = |s: &AwakeState| matches!(s, AwakeState::Released);
            awake_state(&session, &mut events, released).await;
            tokio::time::timeout(Duration::from_secs(60), session.finished())
                .await
                .expect("the stopped recording uploads")
                .unwrap();
            assert_eq!(inhibitors().await, vec![], "none once capture ended");

            // No logind: the doctor is told, and the recording goes on.
            tokio::task::spawn_blocking(move || standin.stop())
                .await
                .unwrap();
            let consultation = Consultation::new(60 * 16_000, 8);
            let session = record(&consultation, server.http(), tokens);
            let mut events = session.subscribe();
            match awake_state(&session, &mut events, answered).await {
                AwakeState::Unavailable { message } => assert!(
                    message.starts_with("This computer may go to sleep during the recording"),
                    "{message}"
                ),
                other => panic!("no power manager, yet {other:?}"),
            }
            session.stop();
            tokio::time::timeout(Duration::from_secs(60), session.finished())
                .await
                .expect("the recording without a hold uploads")
                .unwrap();
        });
}
