//! What the commands print: a session's events as JSON lines, and errors.

use consult_recorder::events::{AwakeState, Event, Status};
use consult_recorder::session::Session;

use crate::failure::Failure;

/// Prints the session's events, and the sign-in's from the app's stream, as
/// JSON lines until the session completes or fails; Ctrl-C stops capture, a
/// second Ctrl-C leaves the upload for later.
pub async fn follow(
    session: Session,
    mut app_events: tokio::sync::broadcast::Receiver<Event>,
) -> Result<(), Failure> {
    let mut events = session.subscribe();
    if let Some(current) = session.status_event() {
        print_event(&current); // sent before the subscription
    }
    let stopper = session.stopper();
    let id = session.id.clone();
    let finished = session.finished();
    tokio::pin!(finished);
    let mut interrupted = false;
    loop {
        tokio::select! {
            result = &mut finished => {
                drain(&mut events);
                return result.map_err(|e| Failure::other(format!("session {id}: {e}")));
            }
            event = events.recv() => match event {
                Ok(event) => print_event(&event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("warning: {n} events were not shown");
                }
                Err(_) => {}
            },
            event = app_events.recv() => {
                // The app follows no session here: only its sign-in events are new.
                if let Ok(event @ Event::Auth(_)) = event {
                    print_event(&event);
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if interrupted {
                    return Err(Failure::other("interrupted; the rest will be sent by `consult-cli upload`"));
                }
                interrupted = true;
                stopper.stop();
                eprintln!("stopping: finishing the upload (press Ctrl-C again to leave it for later)");
            }
        }
    }
}

fn drain(events: &mut tokio::sync::broadcast::Receiver<Event>) {
    while let Ok(event) = events.try_recv() {
        print_event(&event);
    }
}

fn print_event(event: &Event) {
    // Ten a second: for a meter, not for a log of the session (see `level`).
    if matches!(event, Event::Level { .. }) {
        return;
    }
    println!(
        "{}",
        serde_json::to_string(event).expect("events serialise")
    );
    match event {
        Event::Status {
            status: Status::Failed { reason },
            ..
        } => eprintln!("error: {reason}"),
        Event::Microphone { message, .. }
        | Event::Slept { message, .. }
        | Event::KeepAwake {
            state: AwakeState::Unavailable { message },
            ..
        } => eprintln!("{message}"),
        _ => {}
    }
}
