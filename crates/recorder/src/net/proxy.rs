//! HTTP proxies for the WebSocket, configured the way every tool on the
//! computer is: `HTTPS_PROXY` (for `wss://`), `HTTP_PROXY` (for `ws://`),
//! `ALL_PROXY` and `NO_PROXY`, lower case first. The connection is tunnelled
//! with `CONNECT`, so TLS still runs end to end with the server. (The HTTP
//! requests for sign-in go through `reqwest`, which reads the same variables.)

use std::time::Duration;

use base64::Engine;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ConnectError;

/// A proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
    host: String,
    port: u16,
    /// `Proxy-Authorization` value when the URL carries a user and password.
    authorization: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        write!(f, "Proxy({})", self.address())
    }
}

/// Why a proxy setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyAddressError {
    /// The setting cannot be read as a URL.
    #[error("the proxy address is not a URL")]
    NotAUrl,
    /// A scheme other than `http`; holds it.
    #[error("the proxy scheme {0}:// is not supported; use http://host:port")]
    Scheme(String),
    /// The URL names no host.
    #[error("the proxy address has no host")]
    NoHost,
}

impl Proxy {
    /// `http://[user:password@]host[:port]`; the port defaults to 3128.
    pub fn parse(text: &str) -> Result<Self, ProxyAddressError> {
        let with_scheme = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| ProxyAddressError::NotAUrl)?;
        if url.scheme() != "http" {
            return Err(ProxyAddressError::Scheme(url.scheme().to_owned()));
        }
        let host = url.host_str().ok_or(ProxyAddressError::NoHost)?.to_owned();
        let authorization = (!url.username().is_empty()).then(|| {
            let user = percent_decode(url.username());
            let password = percent_decode(url.password().unwrap_or(""));
            let pair = format!("{user}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        Ok(Self {
            url: url.clone(),
            host,
            port: url.port().unwrap_or(3128),
            authorization,
        })
    }

    /// The proxy's URL, credentials included (for the HTTP client; never log it).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `host:port`, for messages and diagnostics.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Opens a TCP tunnel to `host:port` through the proxy.
    pub async fn tunnel(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<TcpStream, ConnectError> {
        let work = async {
            let mut stream = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| {
                    ConnectError::Unreachable(format!("proxy {} ({e})", self.address()))
                })?;
            let target = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
            if let Some(authorization) = &self.authorization {
                request.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
            }
            request.push_str("\r\n");
            stream.write_all(request.as_bytes()).await.map_err(|e| {
                ConnectError::Unreachable(format!("proxy {} ({e})", self.address()))
            })?;
            let head = read_head(&mut stream).await.map_err(|e| {
                ConnectError::Unreachable(format!("proxy {} ({e})", self.address()))
            })?;
            match status_of(&head) {
                Some(200..=299) => Ok(stream),
                Some(407) => Err(ConnectError::Proxy(format!(
                    "the proxy {} asks for a user name and password (put them in the proxy URL)",
                    self.address()
                ))),
                Some(status) => Err(ConnectError::Proxy(format!(
                    "the proxy {} refused the tunnel (HTTP {status})",
                    self.address()
                ))),
                None => Err(ConnectError::Proxy(format!(
                    "the proxy {} gave an answer that is not HTTP",
                    self.address()
                ))),
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| ConnectError::Timeout(timeout.as_secs()))?
    }
}

/// The proxy the environment names for `url`, if any; an unusable proxy
/// setting is an error rather than a silent direct connection.
pub fn for_url(url: &str) -> Result<Option<Proxy>, ConnectError> {
    for_url_with(url, |name| std::env::var(name).ok())
}

/// [`for_url`] with the environment given (tests).
pub fn for_url_with(
    url: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ConnectError> {
    let parsed = Url::parse(url).map_err(|_| ConnectError::BadUrl(url.to_owned()))?;
    let host = parsed.host_str().unwrap_or_default();
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| lookup(name).filter(|v| !v.trim().is_empty()))
    };
    if get(&["no_proxy", "NO_PROXY"]).is_some_and(|list| excluded(&list, bare_host)) {
        return Ok(None);
    }
    let setting = match parsed.scheme() {
        "wss" | "https" => get(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
        _ => get(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]),
    };
    setting
        .map(|text| Proxy::parse(text.trim()).map_err(|e| ConnectError::Proxy(e.to_string())))
        .transpose()
}

/// `NO_PROXY`: `*`, or host names (matching themselves and their
/// subdomains, with or without a leading dot) and IP addresses, comma
/// separated; a `:port` suffix is ignored.
fn excluded(list: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    list.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = strip_port(&entry);
            let name = entry.trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => entry,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the proxy's answer up to the blank line, one byte at a time so that
/// nothing of the tunnelled stream is consumed.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("the answer's header is too long"));
        }
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn status_of(head: &str) -> Option<u16> {
    let mut parts = head.lines().next()?.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_scheme_picks_the_variable_and_no_proxy_excludes_hosts() {
        let vars = [
            ("HTTPS_PROXY", "http://proxy.clinic:8080"),
            ("http_proxy", "10.0.0.1:3128"),
            ("NO_PROXY", "localhost, .internal.clinic,192.168.1.5:443"),
        ];
        let proxy = |url| for_url_with(url, env(&vars)).unwrap().map(|p| p.address());
        assert_eq!(
            proxy("wss://t.clinic.example/v1").as_deref(),
            Some("proxy.clinic:8080")
        );
        assert_eq!(
            proxy("ws://127.0.0.1:8080").as_deref(),
            Some("10.0.0.1:3128")
        );
        assert_eq!(proxy("ws://localhost:8080"), None);
        assert_eq!(proxy("wss://asr.internal.clinic"), None);
        assert_eq!(proxy("wss://internal.clinic"), None);
        assert_eq!(proxy("wss://192.168.1.5"), None);
        assert_eq!(
            proxy("wss://notinternal.clinic").as_deref(),
            Some("proxy.clinic:8080")
        );
        assert_eq!(for_url_with("wss://x", env(&[])).unwrap(), None);
        assert_eq!(
            for_url_with("wss://x", env(&[("NO_PROXY", "*"), ("ALL_PROXY", "p:1")])).unwrap(),
            None
        );
    }

    #[test]
    fn credentials_become_a_header_and_never_show() {
        let proxy = Proxy::parse("http://ward%40clinic:s3cret@proxy:8080").unwrap();
        assert_eq!(
            proxy.authorization.as_deref(),
            Some("Basic d2FyZEBjbGluaWM6czNjcmV0")
        );
        assert_eq!(format!("{proxy:?}"), "Proxy(proxy:8080)");
        assert!(Proxy::parse("socks5://proxy:1080").is_err());
        assert!(matches!(
            for_url_with("wss://x", env(&[("HTTPS_PROXY", "socks5://p:1")])),
            Err(ConnectError::Proxy(_))
        ));
    }

    #[test]
    fn status_lines_are_read_strictly() {
        assert_eq!(
            status_of("HTTP/1.1 200 Connection established\r\n\r\n"),
            Some(200)
        );
        assert_eq!(status_of("HTTP/1.0 407 Proxy Auth\r\n\r\n"), Some(407));
        assert_eq!(status_of("SSH-2.0-OpenSSH\r\n\r\n"), None);
    }
}
