//! A small W3C WebDriver client: just the calls the desktop tests make
//! (find, click, type, read, run a script, screenshot), over plain HTTP to
//! tauri-driver.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key W3C uses for element references in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What went wrong talking to the driver.
#[derive(Debug, thiserror::Error)]
pub enum WebDriverError {
    /// The request failed or its answer was not JSON; holds the HTTP client's error.
    #[error("the driver did not answer: {0}")]
    Http(String),
    /// The driver answered the command with an error.
    #[error("{error}: {message}")]
    Command {
        /// The W3C error code, such as `no such element`.
        error: String,
        /// What the driver said about it (may be empty).
        message: String,
    },
    /// The answer lacked what the call needs; holds the answer or what was wrong.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// WebDriver's code points for keys that type no character.
pub mod keys {
    /// The Tab key.
    pub const TAB: &str = "\u{E004}";
    /// The Enter key.
    pub const ENTER: &str = "\u{E007}";
    /// The space bar: a plain space character.
    pub const SPACE: &str = " ";
    /// The Shift key, for chords such as Shift+Tab.
    pub const SHIFT: &str = "\u{E008}";
    /// The Control key, for chords such as Ctrl+A.
    pub const CONTROL: &str = "\u{E009}";
}

/// One browsing session, i.e. one running app.
pub struct Session {
    http: reqwest::Client,
    base: String,
}

impl Session {
    /// Starts the app at `application` with `args` through the driver at
    /// `driver` (http://host:port).
    pub async fn start(
        driver: &str,
        application: &str,
        args: &[&str],
    ) -> Result<Self, WebDriverError> {
        consult_recorder::net::install_crypto_provider();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| WebDriverError::Http(e.to_string()))?;
        let answer = call(
            &http,
            reqwest::Method::POST,
            &format!("{driver}/session"),
            Some(json!({
                "capabilities": { "alwaysMatch": { "tauri:options": { "application": application, "args": args } } }
            })),
        )
        .await?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or_else(|| WebDriverError::Unexpected(answer.to_string()))?;
        Ok(Self {
            http,
            base: format!("{driver}/session/{id}"),
        })
    }

    /// A command of this session: `path` is below the session's address.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, WebDriverError> {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, WebDriverError> {
        self.command(reqwest::Method::GET, path, None).await
    }

    async fn delete(&self, path: &str) -> Result<Value, WebDriverError> {
        self.command(reqwest::Method::DELETE, path, None).await
    }

    /// The element matching the CSS selector.
    pub async fn find(&self, css: &str) -> Result<String, WebDriverError> {
        let found = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await?;
        found[ELEMENT_KEY]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| WebDriverError::Unexpected(found.to_string()))
    }

    /// Clicks the element matching the CSS selector.
    pub async fn click(&self, css: &str) -> Result<(), WebDriverError> {
        let element = self.find(css).await?;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await
            .map(drop)
    }

    /// Clears the field and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), WebDriverError> {
        let element = self.find(css).await?;
        self.post(&format!("/element/{element}/clear"), json!({}))
            .await?;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    /// Types `keys` into the element as a keyboard would (" " is Space),
    /// without clearing it first.
    pub async fn send_keys(&self, css: &str, keys: &str) -> Result<(), WebDriverError> {
        let element = self.find(css).await?;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": keys }),
        )
        .await
        .map(drop)
    }

    /// Presses `keys` one after another on whatever has the focus, as a
    /// person at the keyboard does (no element is chosen for them). Each key
    /// is a character, or one of [`keys`]' names for keys without one.
    pub async fn press(&self, keys: &[&str]) -> Result<(), WebDriverError> {
        let strokes: Vec<Value> = keys
            .iter()
            .flat_map(|key| {
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        self.perform_keys(strokes).await
    }

    /// Presses `keys` together (held down in order, let go in reverse), as
    /// Shift+Tab.
    pub async fn chord(&self, keys: &[&str]) -> Result<(), WebDriverError> {
        let down = keys
            .iter()
            .map(|key| json!({ "type": "keyDown", "value": key }));
        let up = keys
            .iter()
            .rev()
            .map(|key| json!({ "type": "keyUp", "value": key }));
        self.perform_keys(down.chain(up).collect()).await
    }

    async fn perform_keys(&self, strokes: Vec<Value>) -> Result<(), WebDriverError> {
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": strokes }] }),
        )
        .await?;
        self.delete("/actions").await.map(drop)
    }

    /// Runs `script`, which ends by calling its last argument with the
    /// result (for promises in the page), and returns that result.
    pub async fn execute_async(&self, script: &str, args: Value) -> Result<Value, WebDriverError> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// Resizes the window (its outer size, as a person drags it).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), WebDriverError> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await
            .map(drop)
    }

    /// What has the keyboard focus: its id, else its tag and text ("body"
    /// when nothing has it).
    pub async fn focused_id(&self) -> Result<String, WebDriverError> {
        let value = self
            .execute(
                "const e = document.activeElement;\
                 return !e || e === document.body ? 'body' : (e.id || e.tagName.toLowerCase() + ' ' + e.textContent.trim());",
                json!([]),
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// A form field's current value ("" when missing).
    pub async fn field_value(&self, css: &str) -> Result<String, WebDriverError> {
        let value = self
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.value : '';",
                json!([css]),
            )
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value, WebDriverError> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// The element's text as the page has it (`textContent`), or `None` when
    /// it is missing or hidden by its own or an ancestor's `hidden`.
    pub async fn visible_text(&self, css: &str) -> Result<Option<String>, WebDriverError> {
        let value = self
            .execute(
                "const e = document.querySelector(arguments[0]);\
                 if (!e || e.closest('[hidden]')) return null;\
                 return e.textContent;",
                json!([css]),
            )
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// A screenshot of the window as PNG.
    pub async fn screenshot(&self) -> Result<Vec<u8>, WebDriverError> {
        let value = self.get("/screenshot").await?;
        let text = value
            .as_str()
            .ok_or_else(|| WebDriverError::Unexpected("no screenshot".into()))?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| WebDriverError::Unexpected(e.to_string()))
    }

    /// Ends the session: the driver closes the app.
    pub async fn end(self) -> Result<(), WebDriverError> {
        self.delete("").await.map(drop)
    }
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| WebDriverError::Http(e.to_string()))?;
    let answer: Value = response
        .json()
        .await
        .map_err(|e| WebDriverError::Http(e.to_string()))?;
    let value = answer["value"].clone();
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(WebDriverError::Command {
            error: error.to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(value)
}
