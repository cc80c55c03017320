//! `/ws/visitor`: the widget's socket.
//!
//! The first frame must be `hello`; the socket then carries the visitor's
//! messages and button presses to the desk and the conversation's events
//! back, exactly once and in order (see [`Follower`]). Bad frames get an
//! error frame and the connection stays usable.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use baton_shared::{ConversationId, ErrorCode, VisitorRequest, VisitorUpdate};

use super::AppState;
use super::follow::Follower;
use super::frames::{Incoming, Reject, decode, encode};
use crate::desk::{Desk, DeskError};

/// How long a new connection may take to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    // The library's hard cap sits above our limit so an oversized frame can
    // be answered with an error frame instead of a dropped connection.
    let hard_cap = state.desk.limits().max_frame_bytes * 4;
    let tracker = state.sockets.clone();
    ws.max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .on_upgrade(move |socket| tracker.track_future(run(socket, state)))
}

async fn run(mut socket: WebSocket, state: AppState) {
    let desk = state.desk.clone();
    let max = desk.limits().max_frame_bytes;
    let mut shutdown = state.shutdown.clone();

    let greeted = tokio::select! {
        greeted = tokio::time::timeout(HELLO_TIMEOUT, greet(&mut socket, &desk)) => greeted,
        _ = shutdown.changed() => return close_for_restart(socket).await,
    };
    let Ok(Some((id, last_seq))) = greeted else { return };
    let (mut follower, mut rx, backlog) = match Follower::start(&desk, id, last_seq).await {
        Ok(started) => started,
        Err(e) => {
            send(&mut socket, &error(&e)).await;
            return;
        }
    };
    for event in backlog {
        if !send(&mut socket, &VisitorUpdate::Event { event }).await {
            return;
        }
    }

    loop {
        tokio::select! {
            _ = shutdown.changed() => return close_for_restart(socket).await,
            received = rx.recv() => {
                let events = match follower.on_broadcast(&desk, received).await {
                    Ok(events) => events,
                    Err(e) => { tracing::error!(conversation = id, %e, "replay failed"); return }
                };
                for event in events {
                    if !send(&mut socket, &VisitorUpdate::Event { event }).await { return }
                }
            }
            message = socket.recv() => {
                let Some(Ok(message)) = message else { return };
                let open = match decode::<VisitorRequest>(message, max) {
                    Incoming::Request(request) => handle(&mut socket, &desk, id, request).await,
                    Incoming::Bad(reject) => send(&mut socket, &rejected(reject)).await,
                    Incoming::Ignore => true,
                    Incoming::Closed => false,
                };
                if !open { return }
            }
        }
    }
}

/// Waits for a valid `hello`, answers `welcome`, and returns the
/// conversation and the visitor's `last_seq`. Other frames before it get an
/// error and do not close the connection.
async fn greet(socket: &mut WebSocket, desk: &Desk) -> Option<(ConversationId, u64)> {
    let max = desk.limits().max_frame_bytes;
    loop {
        let message = socket.recv().await?.ok()?;
        let reply = match decode::<VisitorRequest>(message, max) {
            Incoming::Request(VisitorRequest::Hello { token, last_seq, page }) => {
                match desk.open(token.as_deref(), page.as_deref()).await {
                    Ok(opened) => {
                        let id = opened.conversation.id;
                        let welcome = VisitorUpdate::Welcome {
                            token: opened.token,
                            state: opened.conversation.state,
                            responder: opened.responder,
                        };
                        return send(socket, &welcome).await.then_some((id, last_seq));
                    }
                    Err(e) => error(&e),
                }
            }
            Incoming::Request(_) => rejected(Reject::new(ErrorCode::HelloFirst, "send hello first")),
            Incoming::Bad(reject) => rejected(reject),
            Incoming::Ignore => continue,
            Incoming::Closed => return None,
        };
        if !send(socket, &reply).await {
            return None;
        }
    }
}

/// Carries out one request; false when the socket is gone.
async fn handle(socket: &mut WebSocket, desk: &Desk, id: ConversationId, request: VisitorRequest) -> bool {
    match request {
        VisitorRequest::Hello { .. } => {
            let reject = Reject::new(ErrorCode::HelloFirst, "hello was already sent on this connection");
            send(socket, &rejected(reject)).await
        }
        VisitorRequest::Say { client_id, text } => match desk.say(id, &client_id, &text).await {
            Ok(posted) => {
                // Acknowledge as soon as it is stored; the answer follows.
                if !send(socket, &VisitorUpdate::Ack { client_id, seq: posted.seq }).await {
                    return false;
                }
                if posted.fresh {
                    if let Err(e) = desk.respond(id, posted.seq).await {
                        tracing::error!(conversation = id, %e, "assistant turn failed");
                    }
                }
                true
            }
            Err(e) => send(socket, &error(&e)).await,
        },
        VisitorRequest::RequestHuman { client_id } => match desk.request_human(id, &client_id).await {
            Ok(seq) => send(socket, &VisitorUpdate::Ack { client_id, seq }).await,
            Err(e) => send(socket, &error(&e)).await,
        },
    }
}

fn error(e: &DeskError) -> VisitorUpdate {
    if let DeskError::Store(inner) = e {
        tracing::error!(%inner, "visitor request failed");
    }
    VisitorUpdate::Error { code: e.code(), message: e.to_string() }
}

fn rejected(reject: Reject) -> VisitorUpdate {
    VisitorUpdate::Error { code: reject.code, message: reject.message }
}

async fn send(socket: &mut WebSocket, update: &VisitorUpdate) -> bool {
    socket.send(encode(update)).await.is_ok()
}

/// Tells the client to come back: 1012 is "service restart".
pub(super) async fn close_for_restart(mut socket: WebSocket) {
    let frame = CloseFrame { code: 1012, reason: "server restarting; reconnect".into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
