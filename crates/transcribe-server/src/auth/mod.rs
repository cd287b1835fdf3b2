//! Accounts, access tokens and refresh tokens, and the two HTTP endpoints over them.
//!
//! Never logs a password or a token; logs only the account and the outcome.

pub mod http;
pub mod jwt;
pub mod refresh;
pub mod users;

pub use jwt::{AccessTokens, TokenError, unix_now};
pub use refresh::RefreshStore;
pub use users::Users;
