//! Hands `consult-recorder://` links to the core, which offers them to the
//! doctor or refuses them. Links arrive at launch (the desktop starts the app
//! with the link as its only argument), from a second launch while the app
//! runs (the single-instance plugin forwards it), or from macOS's open-URL
//! event; the deep-link plugin turns all three into one callback.

use consult_recorder::app::App;
use tauri::{Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

/// Listens for links, then takes the one the app was launched with.
pub fn install<R: Runtime>(handle: &tauri::AppHandle<R>) {
    let app = handle.state::<App>().inner().clone();
    let window = handle.clone();
    handle.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            hand_over(&app, url.as_str());
        }
        crate::focus_main(&window);
    });
    match handle.deep_link().get_current() {
        Ok(Some(urls)) => {
            let app = handle.state::<App>();
            for url in urls {
                hand_over(&app, url.as_str());
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "the launch link could not be read"),
    }
}

/// The core logs and reports a refusal itself; nothing more to do here.
fn hand_over(app: &App, link: &str) {
    let _ = app.offer_link(link);
}

/// A launch argument that is a link for the app (the desktop passes it as
/// the only argument).
pub fn is_link_argument(argument: &str) -> bool {
    argument
        .get(..consult_recorder::deep_link::SCHEME.len() + 1)
        .is_some_and(|start| {
            start.eq_ignore_ascii_case(&format!("{}:", consult_recorder::deep_link::SCHEME))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_scheme_is_a_link_argument() {
        assert!(is_link_argument("consult-recorder://record?session_id=1"));
        assert!(is_link_argument("Consult-Recorder://record"));
        for other in [
            "diagnose",
            "consult-recorder",
            "https://x",
            "",
            "consult-recorde:",
        ] {
            assert!(!is_link_argument(other), "{other}");
        }
    }
}
