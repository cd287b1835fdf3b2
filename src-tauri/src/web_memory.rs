//! The web view's memory: WebKit's cache model for a single local page.
//!
//! WebKitGTK's default model ("web browser") keeps decoded pages and
//! resources for back/forward navigation and for revisits; our window shows
//! one bundled page for hours and never navigates. The "document viewer"
//! model turns those caches off.

use tauri::{AppHandle, Manager, Runtime};

/// Switches the main window's web context to the document-viewer cache model
/// (Linux only: Windows and macOS web views have no such setting).
pub fn use_document_viewer_cache<R: Runtime>(handle: &AppHandle<R>) {
    let Some(window) = handle.get_webview_window("main") else {
        return;
    };
    #[cfg(target_os = "linux")]
    let applied = window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
        if let Some(context) = webview.inner().context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    });
    #[cfg(not(target_os = "linux"))]
    let applied: tauri::Result<()> = {
        let _ = window;
        Ok(())
    };
    if let Err(err) = applied {
        tracing::warn!(error = %err, "the web view's cache model could not be set");
    }
}
