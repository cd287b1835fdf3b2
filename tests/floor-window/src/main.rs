//! A Tauri 2 window showing one line of text: no commands, plugins, tray or
//! scripts. What it costs in memory is what any Tauri app on WebKitGTK costs
//! before it does anything; `app-bench` prints the app's figures as a
//! multiple of it.

#![deny(clippy::unwrap_used)]

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the window opens");
}
