//! The desktop a doctor has, for tests: an X server (Xvfb) on a free display,
//! tauri-driver on free ports driving WebKitWebDriver, and a laptop user's
//! home folder. Each part is started by the test and stopped by PID when it
//! is dropped; nothing listens on the default WebDriver ports.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::webdriver::Session;

/// A program built in the same target folder as this test (the workspace's).
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    for dir in exe.ancestors().skip(1).take(3) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{name} is not built next to {}; build it first",
        exe.display()
    );
}

/// A loopback port nobody is listening on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Xvfb on the first free display number from 100.
pub struct Display {
    child: Child,
    /// The display's name for `DISPLAY`, such as `:100`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb on the first free display and waits for its socket.
    pub async fn start() -> Self {
        for number in 100..200 {
            if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .arg(format!(":{number}"))
                .args(["-screen", "0", "1280x900x24", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("Xvfb is installed (scripts/install-deps.sh)");
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // taken meanwhile: try the next number
                }
                if socket.exists() {
                    return Self {
                        child,
                        name: format!(":{number}"),
                    };
                }
                assert!(Instant::now() < deadline, "Xvfb :{number} did not start");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        panic!("no free X display between :100 and :199");
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// tauri-driver on free ports, with the laptop's environment for the app.
pub struct Desktop {
    driver: Child,
    url: String,
    app: PathBuf,
    /// The laptop user's home (config, data, logs inside).
    pub home: tempfile::TempDir,
    config: PathBuf,
    shots: PathBuf,
    display: Display,
}

impl Desktop {
    /// `name` names the screenshot folder; `system_config` is the clinic's
    /// configuration file content.
    pub async fn start(name: &str, system_config: &str) -> Self {
        let display = Display::start().await;
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("clinic-config.toml");
        std::fs::write(&config, system_config).unwrap();
        let port = free_port();
        let native_port = free_port();
        let driver_path = std::env::var_os("TAURI_DRIVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("tauri-driver"));
        let mut driver = Command::new(driver_path);
        driver
            .args(["--port", &port.to_string()])
            .args(["--native-port", &native_port.to_string()]);
        as_the_doctor(&mut driver, &display.name, home.path(), &config);
        let mut driver = spawn_quietly(&mut driver)
            .expect("tauri-driver is installed (scripts/install-deps.sh)");
        let url = format!("http://127.0.0.1:{port}");
        // Ready when our driver (still running: not one left over on the
        // port) answers its status.
        consult_recorder::net::install_crypto_provider();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                driver.try_wait().unwrap().is_none(),
                "tauri-driver exited (port {port} taken?)"
            );
            if http
                .get(format!("{url}/status"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let shots = screenshot_dir(name);
        Self {
            driver,
            url,
            app: built_binary("consult-recorder"),
            home,
            config,
            shots,
            display,
        }
    }

    /// A desktop whose clinic file names only `server_url`: the clinic every test works in.
    pub async fn with_server(name: &str, server_url: &str) -> Self {
        Self::start(name, &format!("server = \"{server_url}\"\n")).await
    }

    /// Opens the app (a new process).
    pub async fn launch(&self) -> App {
        self.launch_with(&[]).await
    }

    /// Opens the app with `args`, as the desktop does for a link.
    pub async fn launch_with(&self, args: &[&str]) -> App {
        // A launch while the last app still holds the one-instance name
        // would only hand over to it and exit, and the driver would wait
        // for a window that never comes.
        wait_for_single_instance_release().await;
        let session = Session::start(&self.url, &self.app.display().to_string(), args)
            .await
            .expect("the app starts under the driver");
        App {
            session,
            shots: self.shots.clone(),
            binary: self.app.clone(),
            display: self.display.name.clone(),
        }
    }
}

impl Desktop {
    /// Opens the app and signs in: how a test not about signing in gets to the recorder.
    pub async fn launch_signed_in(&self, email: &str, password: &str) -> App {
        let app = self.launch().await;
        app.sign_in(email, password).await;
        app.wait_shown("#view-recorder", Duration::from_secs(20))
            .await;
        app
    }

    /// `program` as the doctor runs it here: the same display, home and clinic file for all.
    fn command_as_the_doctor(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        as_the_doctor(
            &mut command,
            &self.display.name,
            self.home.path(),
            &self.config,
        );
        command
    }

    /// Starts another program as the doctor on this desktop's display (the
    /// benchmark's floor window); it is stopped when dropped.
    pub fn spawn_beside(&self, program: &Path) -> Child {
        spawn_quietly(&mut self.command_as_the_doctor(program))
            .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()))
    }

    /// Runs the app a second time with `args` while the first runs (as the
    /// desktop does when a link is opened) and waits for it to hand over and
    /// exit.
    pub async fn launch_again(&self, args: &[&str]) -> std::process::ExitStatus {
        let mut again = self.command_as_the_doctor(&self.app);
        again.args(args);
        let mut child = spawn_quietly(&mut again).expect("the app's binary starts");
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("a second launch hands over and exits")
            .expect("the second launch is waited for")
    }
}

/// Starts `command` silent and killed when dropped, as every process beside the app under test.
fn spawn_quietly(command: &mut Command) -> std::io::Result<Child> {
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// The name the single-instance plugin holds on the session bus while an
/// app runs: the app's identifier and `.SingleInstance`.
fn single_instance_name() -> String {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/tauri.conf.json");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).expect("tauri.conf.json is read"))
            .expect("tauri.conf.json is JSON");
    let identifier = config["identifier"]
        .as_str()
        .expect("tauri.conf.json names the identifier");
    format!("{identifier}.SingleInstance")
}

/// Whether an app holds the one-instance name on this test's session bus.
async fn single_instance_held(name: &str) -> bool {
    let answer = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
        ])
        .arg(format!("string:{name}"))
        .output()
        .await
        .expect("dbus-send runs (dbus-bin, with dbus-daemon)");
    assert!(
        answer.status.success(),
        "the session bus answers: {}",
        String::from_utf8_lossy(&answer.stderr)
    );
    String::from_utf8_lossy(&answer.stdout).contains("boolean true")
}

/// Waits until no app holds the one-instance name. The bus lets go of it
/// when it notices that the old app's connection closed, which on a busy
/// machine can be well after the process has gone.
async fn wait_for_single_instance_release() {
    let name = single_instance_name();
    let deadline = Instant::now() + Duration::from_secs(20);
    while single_instance_held(&name).await {
        assert!(
            Instant::now() < deadline,
            "{name} is still held on the session bus 20 s later: an app did not exit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The laptop user's environment: their display, home and XDG folders, and
/// the clinic's configuration file; no server from the test's own environment.
/// The file, in the doctor's home, where the stand-in file manager writes
/// each folder it is asked to open, a line each.
pub const OPENED_LOG: &str = "opened-by-file-manager.txt";

/// A stand-in for the desktop's `xdg-open` (Xvfb has no desktop, so no file
/// manager): it writes down its argument and exits. Returns the folder to put
/// first on `PATH`.
fn stand_in_file_manager(home: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("xdg-open");
    let log = home.join(OPENED_LOG);
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn as_the_doctor(command: &mut Command, display: &str, home: &Path, config: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(stand_in_file_manager(home)).chain(std::env::split_paths(&path)),
    )
    .expect("PATH entries join");
    command
        .env("PATH", path)
        .env("DISPLAY", display)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("CONSULT_SYSTEM_CONFIG", config)
        .env("CONSULT_LOG_LEVEL", "debug")
        // No system bus, as in the containers the tests run in, whatever
        // this machine has: no logind to keep the computer awake, and the
        // window says so (the keep-awake test covers logind itself).
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}", home.join("no-system-bus").display()),
        )
        .env_remove("CONSULT_SERVER")
        .env_remove("WAYLAND_DISPLAY");
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.driver.start_kill();
    }
}

/// The process of `binary` running on `display`, if any (found through /proc).
fn app_pid(binary: &Path, display: &str) -> Option<u32> {
    let wanted_display = format!("DISPLAY={display}");
    crate::procfs::all_pids().find(|pid| {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        std::fs::read_link(dir.join("exe")).is_ok_and(|exe| exe == binary)
            && std::fs::read(dir.join("environ")).is_ok_and(|environ| {
                environ
                    .split(|b| *b == 0)
                    .any(|var| var == wanted_display.as_bytes())
            })
    })
}

/// `target/desktop-screenshots/<name>/`, emptied.
fn screenshot_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let target = exe
        .ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let dir = target.join("desktop-screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The running app, seen through its window.
pub struct App {
    /// The WebDriver session that drives the app's window.
    pub session: Session,
    shots: PathBuf,
    binary: PathBuf,
    display: String,
}

impl App {
    /// The app's process (its WebKit helpers are its children).
    pub fn pid(&self) -> Option<u32> {
        app_pid(&self.binary, &self.display)
    }

    /// Fills in the sign-in form and submits it.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.wait_shown("#view-signin", Duration::from_secs(20))
            .await;
        self.type_into("#signin-email", email).await;
        self.type_into("#signin-password", password).await;
        self.session.click("#signin-submit").await.unwrap();
    }

    /// Types `text` over the field `css` (failing the test if it cannot), as every form is filled.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.session
            .type_into(css, text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Keeps a screenshot of the window as `<step>.png`.
    pub async fn shot(&self, step: &str) {
        match self.session.screenshot().await {
            Ok(png) => std::fs::write(self.shots.join(format!("{step}.png")), png).unwrap(),
            Err(e) => eprintln!("screenshot {step}: {e}"),
        }
    }

    /// Polls what the window shows until `check` returns something, for at
    /// most `timeout`; on timeout keeps a screenshot and fails saying `what`.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut(&Session) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = check(&self.session).await {
                return found;
            }
            if Instant::now() > deadline {
                self.shot(&format!("timeout-{}", what.replace([' ', '/'], "-")))
                    .await;
                let status = self.text("#status-pill").await;
                let detail = self.raw_text("#status-detail").await;
                panic!(
                    "waited {timeout:?} for {what}; the window shows status {status:?} ({detail:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element's visible text, if it is shown.
    pub async fn text(&self, css: &str) -> Option<String> {
        self.session.visible_text(css).await.ok().flatten()
    }

    /// The element's text whether or not it is shown (e.g. a collapsed detail).
    pub async fn raw_text(&self, css: &str) -> Option<String> {
        self.session
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                serde_json::json!([css]),
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// Waits until `css` is shown.
    pub async fn wait_shown(&self, css: &str, timeout: Duration) {
        self.wait_for(&format!("{css} shown"), timeout, async |s| {
            s.visible_text(css).await.ok().flatten().map(drop)
        })
        .await
    }

    /// Waits until `css` shows text containing `wanted`; returns the text.
    pub async fn wait_text(&self, css: &str, wanted: &str, timeout: Duration) -> String {
        self.wait_for(&format!("{css} to say {wanted}"), timeout, async |s| {
            s.visible_text(css)
                .await
                .ok()
                .flatten()
                .filter(|t| t.contains(wanted))
        })
        .await
    }

    /// Quits the app and waits until its process is gone: a new launch
    /// while it is still exiting would only hand over to it (one instance
    /// at a time) and never show a window of its own.
    pub async fn quit(self) {
        self.session.end().await.expect("the app closes");
        let deadline = Instant::now() + Duration::from_secs(20);
        while app_pid(&self.binary, &self.display).is_some() {
            assert!(Instant::now() < deadline, "the app did not exit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
