//! Linux: a systemd-logind sleep inhibitor in "block" mode, taken over the system
//! D-Bus. logind keeps the inhibitor as long as the file descriptor it
//! returns stays open, so the guard is that descriptor (closed on drop, and
//! by the kernel if the app dies).

use std::time::Duration;

use dbus::blocking::Connection;

use super::{APP_NAME, KeepAwakeError};

/// Shown in diagnostics and the log.
pub const NAME: &str = "systemd-logind inhibitor";

const LOGIND: &str = "org.freedesktop.login1";
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// The inhibitor's descriptor.
pub struct Guard(#[allow(dead_code)] dbus::arg::OwnedFd);

/// `block` mode for both sleep and idle: a lid closed by accident or an idle
/// timeout must not end a consultation's recording.
pub fn hold(why: &str) -> Result<Guard, KeepAwakeError> {
    let bus = Connection::new_system().map_err(|e| KeepAwakeError::Unreachable(describe(&e)))?;
    let logind = bus.with_proxy(LOGIND, "/org/freedesktop/login1", ANSWER_WITHIN);
    let (fd,): (dbus::arg::OwnedFd,) = logind
        .method_call(
            "org.freedesktop.login1.Manager",
            "Inhibit",
            ("sleep:idle", APP_NAME, why, "block"),
        )
        .map_err(|e| match e.name() {
            Some("org.freedesktop.DBus.Error.ServiceUnknown")
            | Some("org.freedesktop.DBus.Error.NameHasNoOwner")
            | Some("org.freedesktop.DBus.Error.NoReply")
            | Some("org.freedesktop.DBus.Error.TimedOut") => {
                KeepAwakeError::Unreachable(describe(&e))
            }
            _ => KeepAwakeError::Refused(describe(&e)),
        })?;
    Ok(Guard(fd))
}

fn describe(error: &dbus::Error) -> String {
    match (error.name(), error.message()) {
        (_, Some(message)) if !message.is_empty() => message.to_owned(),
        (Some(name), _) => name.to_owned(),
        _ => "no answer".to_owned(),
    }
}
