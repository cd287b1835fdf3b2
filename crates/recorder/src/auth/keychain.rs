//! The refresh token's only home: the operating system's keychain.
//!
//! One thread owns every keychain call (they block on D-Bus or system calls),
//! and the async side talks to it by message. There is deliberately no
//! fallback: when no keychain answers, signing in fails with a clear error
//! rather than writing a token to a file.

use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::Secret;

/// Windows Credential Manager refuses secrets larger than this many bytes.
pub const WINDOWS_SECRET_LIMIT: usize = 2560;

/// Which keychain to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The platform's own: Secret Service on Linux, Keychain on macOS,
    /// Credential Manager on Windows.
    #[default]
    Platform,
    /// Linux kernel keyutils (the session keyring): survives no reboot; for
    /// machines without a desktop keyring.
    Keyutils,
}

/// Names one stored secret: one entry per server and account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    /// The entry's service name; for a refresh token it names the server.
    pub service: String,
    /// The entry's account name: the signed-in account, or a fixed label.
    pub account: String,
}

impl EntryKey {
    /// The entry of `account`'s refresh token for `server` (a trailing `/` makes
    /// no difference).
    pub fn refresh_token(server: &str, account: &str) -> Self {
        Self {
            service: format!("consult-recorder {}", server.trim_end_matches('/')),
            account: account.to_owned(),
        }
    }
}

/// Why the keychain could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    /// No keychain answered, or it failed; holds the platform's message.
    #[error(
        "no keychain answered ({0}). On Linux, sign in to a desktop session with a keyring \
         (GNOME Keyring or KWallet) running, or choose the keyutils keychain \
         (CONSULT_KEYCHAIN=keyutils); tokens are never stored in a file"
    )]
    Unavailable(String),
    /// The keychain refused access (locked, or not allowed); holds why.
    #[error("the keychain refused access: {0}")]
    Denied(String),
    /// The secret is larger than the keychain accepts.
    #[error("the token is {len} bytes, more than the keychain's limit of {limit}")]
    TooLong {
        /// The secret's size in bytes (0 when the keychain itself refused it).
        len: usize,
        /// The keychain's limit in bytes.
        limit: usize,
    },
    /// An entry exists but cannot be used (not text, or several match).
    #[error("the keychain holds an unreadable entry: {0}")]
    Corrupt(String),
    /// The keychain thread has ended, so nothing can be asked of it.
    #[error("the keychain thread has stopped")]
    Stopped,
}

enum Job {
    Store(EntryKey, Secret, oneshot::Sender<Result<(), KeychainError>>),
    Load(
        EntryKey,
        oneshot::Sender<Result<Option<Secret>, KeychainError>>,
    ),
    Delete(EntryKey, oneshot::Sender<Result<bool, KeychainError>>),
    /// Answered on a std channel, so a caller outside any runtime (or inside
    /// one, at start-up) can wait for it.
    LoadOrCreate(
        EntryKey,
        Box<dyn FnOnce() -> Secret + Send>,
        mpsc::SyncSender<Result<Secret, KeychainError>>,
    ),
}

/// A handle to the keychain thread. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Keychain {
    jobs: mpsc::Sender<Job>,
    backend: Backend,
}

impl Keychain {
    /// Starts the thread that owns keychain access.
    pub fn start(backend: Backend) -> Self {
        let (jobs, inbox) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                for job in inbox {
                    match job {
                        Job::Store(key, secret, reply) => {
                            let _ = reply.send(store(backend, &key, &secret));
                        }
                        Job::Load(key, reply) => {
                            let _ = reply.send(load(backend, &key));
                        }
                        Job::Delete(key, reply) => {
                            let _ = reply.send(delete(backend, &key));
                        }
                        Job::LoadOrCreate(key, make, reply) => {
                            let _ = reply.send(load_or_create(backend, &key, make));
                        }
                    }
                }
            })
            .expect("spawn keychain thread");
        Self { jobs, backend }
    }

    /// Which keychain this handle talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Saves `secret` under `key`, replacing what was there.
    pub async fn store(&self, key: &EntryKey, secret: &Secret) -> Result<(), KeychainError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Store(key.clone(), secret.clone(), reply))?;
        answer.await.map_err(|_| KeychainError::Stopped)?
    }

    /// The secret under `key`; `None` when there is none.
    pub async fn load(&self, key: &EntryKey) -> Result<Option<Secret>, KeychainError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Load(key.clone(), reply))?;
        answer.await.map_err(|_| KeychainError::Stopped)?
    }

    /// Removes the entry; `Ok(false)` when there was none.
    pub async fn delete(&self, key: &EntryKey) -> Result<bool, KeychainError> {
        let (reply, answer) = oneshot::channel();
        self.send(Job::Delete(key.clone(), reply))?;
        answer.await.map_err(|_| KeychainError::Stopped)?
    }

    /// The entry's secret; when there is none, `make`'s is stored and read
    /// back (so what is used is what the keychain really holds). Blocks.
    pub fn load_or_create_blocking(
        &self,
        key: &EntryKey,
        make: impl FnOnce() -> Secret + Send + 'static,
    ) -> Result<Secret, KeychainError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::LoadOrCreate(key.clone(), Box::new(make), reply))?;
        answer.recv().map_err(|_| KeychainError::Stopped)?
    }

    fn send(&self, job: Job) -> Result<(), KeychainError> {
        self.jobs.send(job).map_err(|_| KeychainError::Stopped)
    }
}

fn entry(backend: Backend, key: &EntryKey) -> Result<keyring::Entry, KeychainError> {
    let made = match backend {
        // Explicit on Linux: keyring's default could otherwise change with its
        // features, and its last resort is an in-memory mock that forgets.
        #[cfg(target_os = "linux")]
        Backend::Platform => {
            keyring::secret_service::SsCredential::new_with_target(None, &key.service, &key.account)
                .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
        }
        #[cfg(not(target_os = "linux"))]
        Backend::Platform => keyring::Entry::new(&key.service, &key.account),
        #[cfg(target_os = "linux")]
        Backend::Keyutils => {
            keyring::keyutils::KeyutilsCredential::new_with_target(None, &key.service, &key.account)
                .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
        }
        #[cfg(not(target_os = "linux"))]
        Backend::Keyutils => {
            return Err(KeychainError::Unavailable(
                "keyutils exists on Linux only".into(),
            ));
        }
    };
    made.map_err(map_error)
}

fn store(backend: Backend, key: &EntryKey, secret: &Secret) -> Result<(), KeychainError> {
    if cfg!(windows) && secret.len() > WINDOWS_SECRET_LIMIT {
        return Err(KeychainError::TooLong {
            len: secret.len(),
            limit: WINDOWS_SECRET_LIMIT,
        });
    }
    entry(backend, key)?
        .set_password(secret.expose())
        .map_err(map_error)
}

fn load(backend: Backend, key: &EntryKey) -> Result<Option<Secret>, KeychainError> {
    match entry(backend, key)?.get_password() {
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(err) => Err(map_error(err)),
    }
}

fn load_or_create(
    backend: Backend,
    key: &EntryKey,
    make: Box<dyn FnOnce() -> Secret + Send>,
) -> Result<Secret, KeychainError> {
    if let Some(existing) = load(backend, key)? {
        return Ok(existing);
    }
    store(backend, key, &make())?;
    load(backend, key)?.ok_or_else(|| {
        KeychainError::Unavailable("the keychain accepted an entry but does not return it".into())
    })
}

fn delete(backend: Backend, key: &EntryKey) -> Result<bool, KeychainError> {
    match entry(backend, key)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(err) => Err(map_error(err)),
    }
}

/// keyring's errors, in words a person (or IT) can act on. Never includes the secret.
fn map_error(err: keyring::Error) -> KeychainError {
    match err {
        keyring::Error::NoStorageAccess(e) => KeychainError::Denied(e.to_string()),
        keyring::Error::PlatformFailure(e) if e.to_string().contains("locked") => {
            KeychainError::Denied(
                "the keychain is locked; unlock it (for example by signing in to the desktop) and try again"
                    .into(),
            )
        }
        keyring::Error::PlatformFailure(e) => KeychainError::Unavailable(e.to_string()),
        keyring::Error::TooLong(_, limit) => KeychainError::TooLong {
            len: 0,
            limit: limit as usize,
        },
        keyring::Error::BadEncoding(_) => {
            KeychainError::Corrupt("the stored value is not text".into())
        }
        keyring::Error::Ambiguous(_) => {
            KeychainError::Corrupt("several entries match; remove the extras".into())
        }
        other => KeychainError::Unavailable(other.to_string()),
    }
}
