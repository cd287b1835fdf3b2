//! Consult Recorder desktop app: a thin Tauri shell over the `consult-recorder` library.
//!
//! Holds no business logic: windows, tray and the bridge between the core's
//! events and the web UI live here; everything else lives in the library.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("consult-recorder {}", consult_recorder::VERSION);
        return;
    }
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the Consult Recorder window could not start");
}
