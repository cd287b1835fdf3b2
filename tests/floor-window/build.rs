//! Tauri's build step: embeds the one-page frontend and the configuration.

fn main() {
    tauri_build::build();
}
