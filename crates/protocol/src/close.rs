//! Every WebSocket close code either profile uses, and what a client should do on each.
//!
//! Keeping the table in code means the server, the client and `docs/protocol.md`
//! cannot drift apart on what "4409" means.

/// A close code with a meaning in this protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the client finished and the server confirmed everything.
    Normal,
    /// 1001: the server is shutting down or restarting.
    GoingAway,
    /// 1003: seed profile: a text message (the seed profile accepts only binary audio).
    UnsupportedData,
    /// 1007: the payload is malformed (not JSON, odd byte count, short header).
    InvalidPayload,
    /// 1008: seed profile: authentication failed, the token expired, or the socket idled.
    PolicyViolation,
    /// 1009: a message larger than the server accepts.
    MessageTooBig,
    /// 1011: the server hit an internal error (disk, recogniser).
    InternalError,
    /// 1013: the server refuses connections for now; retry later.
    TryAgainLater,
    /// 4400: v1: a message the protocol does not allow (unknown type, bad session id).
    ProtocolViolation,
    /// 4401: v1: the access token is missing, invalid, or expired without re-auth.
    Unauthorized,
    /// 4403: v1: the token is valid but the session belongs to another account.
    Forbidden,
    /// 4408: v1: no message (audio, control or ping) for the idle timeout.
    IdleTimeout,
    /// 4409: v1: a frame starts after the server's durable end, which would leave a gap.
    Gap,
    /// 4410: v1: a newer connection for the same session replaced this one.
    Superseded,
}

/// What a client should do when a connection closes with a given code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAction {
    /// The session is finished; nothing to do.
    Done,
    /// Reconnect with backoff; the server tells where to resume.
    Reconnect,
    /// Get a fresh access token, then reconnect.
    RefreshAndReconnect,
    /// Stop trying this connection: retrying cannot help; report it to the person.
    Fail,
}

impl CloseCode {
    /// Every code, in the order of the table in `docs/protocol.md`.
    pub const ALL: [CloseCode; 14] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::UnsupportedData,
        CloseCode::InvalidPayload,
        CloseCode::PolicyViolation,
        CloseCode::MessageTooBig,
        CloseCode::InternalError,
        CloseCode::TryAgainLater,
        CloseCode::ProtocolViolation,
        CloseCode::Unauthorized,
        CloseCode::Forbidden,
        CloseCode::IdleTimeout,
        CloseCode::Gap,
        CloseCode::Superseded,
    ];

    /// The numeric code sent in the close frame.
    pub const fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::UnsupportedData => 1003,
            CloseCode::InvalidPayload => 1007,
            CloseCode::PolicyViolation => 1008,
            CloseCode::MessageTooBig => 1009,
            CloseCode::InternalError => 1011,
            CloseCode::TryAgainLater => 1013,
            CloseCode::ProtocolViolation => 4400,
            CloseCode::Unauthorized => 4401,
            CloseCode::Forbidden => 4403,
            CloseCode::IdleTimeout => 4408,
            CloseCode::Gap => 4409,
            CloseCode::Superseded => 4410,
        }
    }

    /// Looks a numeric code up; `None` for codes this protocol does not define.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// What a client should do on this code.
    ///
    /// 1008 means "authentication failed" in the seed profile (its only use there
    /// besides the idle timeout), so a fresh token is the right first answer; a
    /// client that keeps failing after refreshing reports sign-in required.
    pub const fn client_action(self) -> ClientAction {
        match self {
            CloseCode::Normal => ClientAction::Done,
            CloseCode::GoingAway
            | CloseCode::InternalError
            | CloseCode::TryAgainLater
            | CloseCode::IdleTimeout
            | CloseCode::Gap => ClientAction::Reconnect,
            CloseCode::PolicyViolation | CloseCode::Unauthorized => {
                ClientAction::RefreshAndReconnect
            }
            CloseCode::UnsupportedData
            | CloseCode::InvalidPayload
            | CloseCode::MessageTooBig
            | CloseCode::ProtocolViolation
            | CloseCode::Forbidden
            | CloseCode::Superseded => ClientAction::Fail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for code in CloseCode::ALL {
            assert_eq!(CloseCode::from_code(code.code()), Some(code));
        }
        let mut numbers: Vec<u16> = CloseCode::ALL.iter().map(|c| c.code()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), CloseCode::ALL.len());
        assert_eq!(CloseCode::from_code(1234), None);
    }

    #[test]
    fn auth_codes_ask_for_a_refresh() {
        assert_eq!(
            CloseCode::Unauthorized.client_action(),
            ClientAction::RefreshAndReconnect
        );
        assert_eq!(
            CloseCode::PolicyViolation.client_action(),
            ClientAction::RefreshAndReconnect
        );
        assert_eq!(CloseCode::Gap.client_action(), ClientAction::Reconnect);
        assert_eq!(CloseCode::Forbidden.client_action(), ClientAction::Fail);
    }
}
