//! `consult-cli` as a person of its own: every folder it reads or writes is
//! inside a test's home, never the user's.

use std::path::Path;
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// `program` (the CLI or the app) with its config, data, cache and state
/// folders inside `home`.
pub fn in_home(program: &Path, home: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .kill_on_drop(true);
    command
}

/// Runs `command` with piped output, writing `stdin` (if any) to it first.
pub async fn run_with_input(mut command: Command, stdin: Option<&str>) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the program starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    if let Some(text) = stdin {
        input
            .write_all(text.as_bytes())
            .await
            .expect("the program reads its input");
    }
    drop(input);
    child
        .wait_with_output()
        .await
        .expect("the program is waited for")
}
