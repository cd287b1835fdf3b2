//! The v1 dialect: our protocol, where the server acknowledges what it
//! stored, says where to resume, and takes a fresh token in band.

use std::time::Duration;

use consult_protocol::v1::{self, ClientMessage, Incoming, ServerMessage};
use consult_protocol::{AudioFrame, samples_to_secs};
use futures_util::StreamExt;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::Message;

use super::connection::{Dialect, Greeted, Heard};
use super::pace::BacklogPace;
use super::sender::{Outcome, SenderContext, SenderOptions};
use super::socket;
use super::upload::Upload;
use crate::auth::Secret;
use crate::events::TranscriptUpdate;
use crate::net;

/// The v1 profile's side of the connection loop.
pub struct V1 {
    backlog_speed: f64,
}

impl V1 {
    pub fn new(options: &SenderOptions) -> Self {
        Self {
            backlog_speed: options.backlog_speed,
        }
    }
}

impl Dialect for V1 {
    type Pace = BacklogPace;
    const ACKNOWLEDGES: bool = true;

    fn begin(&mut self, _start: u64, now: Instant) -> BacklogPace {
        BacklogPace::new(self.backlog_speed, now)
    }

    async fn connect(
        &mut self,
        upload: &mut Upload<'_>,
        token: Secret,
    ) -> Result<Greeted, Outcome> {
        let sender = upload.sender;
        let mut url = format!(
            "{}{}?{}={}&{}={}",
            sender.ws_base,
            v1::STREAM_PATH,
            v1::QUERY_SESSION,
            sender.session_id,
            v1::QUERY_TRANSCRIPTS_AFTER,
            upload.transcript.finals_until()
        );
        if let Some(language) = &sender.options.language {
            url.push_str(&format!("&{}={language}", v1::QUERY_LANGUAGE));
        }
        let opened = net::open(
            &url,
            Some(&token),
            Some(v1::SUBPROTOCOL),
            None,
            sender.options.connect_timeout,
        )
        .await;
        drop(token);
        let mut ws = Box::new(opened.map_err(Outcome::from_connect)?);
        let durable_offset = wait_for_ready(sender, &mut ws).await?;
        let written = upload.written();
        if durable_offset > written {
            return Err(Outcome::Fatal(format!(
                "the server holds {:.1} s of this session but this computer recorded only {:.1} s",
                samples_to_secs(durable_offset),
                samples_to_secs(written)
            )));
        }
        upload.confirm(durable_offset);
        Ok(Greeted {
            ws,
            start: durable_offset,
        })
    }

    fn frame(&self, offset: u64, pcm: &[u8]) -> Message {
        let mut frame = Vec::with_capacity(8 + pcm.len());
        AudioFrame { offset, pcm }.encode_into(&mut frame);
        Message::Binary(frame.into())
    }

    fn hear(
        &mut self,
        _link: &SenderContext,
        message: Message,
        sent: u64,
        finishing: bool,
    ) -> Heard {
        match message {
            Message::Text(text) => match v1::parse_server_message(&text) {
                Ok(Incoming::Message(message)) => server_message(message, sent, finishing),
                Ok(Incoming::Unknown(kind)) => {
                    tracing::debug!(%kind, "ignoring an unknown server message");
                    Heard::Nothing
                }
                Err(err) => Heard::Unreadable(err.to_string()),
            },
            Message::Binary(_) => Heard::Unreadable("the server sent binary data".into()),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) | Message::Close(_) => {
                Heard::Nothing
            }
        }
    }

    fn finish(&self, end: u64) -> Message {
        let finish = ClientMessage::Finish { end_offset: end };
        Message::Text(serde_json::to_string(&finish).unwrap_or_default().into())
    }

    fn ping_every(&self, options: &SenderOptions) -> Duration {
        options.ping_every
    }

    fn reauth_message(&self, token: &Secret) -> Option<Message> {
        let reauth = ClientMessage::Reauth {
            token: token.expose().to_owned(),
        };
        let text = zeroize::Zeroizing::new(serde_json::to_string(&reauth).ok()?);
        Some(Message::Text(text.as_str().into()))
    }
}

/// Waits for the server's `ready`; the offset it holds durably.
async fn wait_for_ready(sender: &SenderContext, ws: &mut net::WsStream) -> Result<u64, Outcome> {
    match timeout(sender.options.connect_timeout, ws.next()).await {
        Err(_) => Err(Outcome::Retry("the server did not say it was ready".into())),
        Ok(Some(Ok(Message::Text(text)))) => match v1::parse_server_message(&text) {
            Ok(Incoming::Message(ServerMessage::Ready(ready))) => Ok(ready.durable_offset),
            _ => Err(Outcome::Retry(
                "the server's first message was not `ready`".into(),
            )),
        },
        Ok(Some(Ok(Message::Close(frame)))) => Err(socket::close_outcome(frame)),
        Ok(other) => Err(Outcome::Retry(format!(
            "the connection ended before `ready` ({other:?})"
        ))),
    }
}

/// What a well-formed v1 message means, with `sent` samples sent.
fn server_message(message: ServerMessage, sent: u64, finishing: bool) -> Heard {
    match message {
        ServerMessage::Ack { durable_offset } if durable_offset > sent => {
            Heard::Unreadable("an acknowledgement for audio never sent".into())
        }
        ServerMessage::Ack { durable_offset } => Heard::Confirmed(durable_offset),
        ServerMessage::Transcript(t) => Heard::Transcript(TranscriptUpdate {
            text: t.text,
            is_final: t.is_final,
            start: t.start,
            end: t.end,
        }),
        ServerMessage::Done { durable_offset } if finishing && durable_offset == sent => {
            Heard::Done(durable_offset)
        }
        ServerMessage::Done { .. } => {
            Heard::Unreadable("`done` before the session was finished".into())
        }
        ServerMessage::ReauthOk { .. } => {
            tracing::debug!("re-authenticated in band");
            Heard::Nothing
        }
        ServerMessage::Ready(_) => Heard::Unreadable("a second `ready`".into()),
    }
}
