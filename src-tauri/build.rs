//! Declares the app's own commands so capabilities can grant them one by one.

#[path = "src/command_names.rs"]
mod command_names;

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(command_names::NAMES);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("the Tauri build step failed");
}
