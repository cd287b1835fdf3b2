//! The app's command names, shared by `build.rs` (which turns them into
//! permissions) and the tests that check the capability grants them.

/// Every command the webview may call.
pub const NAMES: &[&str] = &[
    "snapshot",
    "sign_in",
    "sign_out",
    "devices",
    "save_settings",
    "start_recording",
    "stop_recording",
    "pause_recording",
    "sessions",
    "transcript",
    "export_transcript",
    "show_export",
    "delete_session",
    "resend_session",
    "diagnostics",
    "accept_link",
    "dismiss_link",
];
