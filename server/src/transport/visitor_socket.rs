//! `/ws/visitor`: the widget's socket.
//!
//! The first frame must be `hello`; the socket then carries the visitor's
//! messages and button presses to the desk and the conversation's events
//! back, exactly once and in order (see [`Follower`]). Bad frames get an
//! error frame and the connection stays usable.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use baton_shared::{ConversationId, ErrorCode, VisitorRequest, VisitorUpdate};

use super::AppState;
use super::follow::Follower;
use super::frames::{Incoming, Reject, close_broken, encode, receive};
use super::limits::{FrameGate, refuse};
use crate::desk::{Desk, DeskError};

/// How long a new connection may take to say `hello`.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The library's hard cap sits above our limit so an oversized frame can
    // be answered with an error frame instead of a dropped connection.
    let hard_cap = state.desk.limits().max_frame_bytes * 4;
    let tracker = state.sockets.clone();
    let ws = ws.max_message_size(hard_cap).max_frame_size(hard_cap);
    match state.rate_limits.admit(peer, &headers) {
        Ok(()) => ws.on_upgrade(move |socket| tracker.track_future(run(socket, state))),
        Err(reject) => ws.on_upgrade(move |socket| tracker.track_future(refuse(socket, encode(&rejected(reject))))),
    }
}

async fn run(mut socket: WebSocket, state: AppState) {
    let desk = state.desk.clone();
    let max = desk.limits().max_frame_bytes;
    let mut shutdown = state.shutdown.clone();
    let gate = state.rate_limits.socket();

    let greeted = tokio::select! {
        greeted = tokio::time::timeout(HELLO_TIMEOUT, greet(&mut socket, &desk, &gate)) => greeted,
        _ = shutdown.changed() => return close_for_restart(socket).await,
    };
    let (id, last_seq) = match greeted {
        Ok(Greeted::Open(id, last_seq)) => (id, last_seq),
        Ok(Greeted::Broken(reject, code)) => return close_broken(socket, encode(&rejected(reject)), code).await,
        Ok(Greeted::Gone) | Err(_) => return,
    };
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
            received = socket.recv() => {
                let open = match receive::<VisitorRequest>(received, &gate, max) {
                    Incoming::Request(request) => handle(&mut socket, &desk, id, request).await,
                    Incoming::Bad(reject) => send(&mut socket, &rejected(reject)).await,
                    Incoming::Ignore => true,
                    Incoming::Closed => false,
                    Incoming::Broken(reject, code) => {
                        return close_broken(socket, encode(&rejected(reject)), code).await;
                    }
                };
                if !open { return }
            }
        }
    }
}

/// How the greeting ended.
enum Greeted {
    /// Welcomed to this conversation; the visitor's `last_seq`.
    Open(ConversationId, u64),
    /// The socket is gone.
    Gone,
    /// A frame could not be read; close with this error and code.
    Broken(Reject, u16),
}

/// Waits for a valid `hello`, answers `welcome`, and returns the
/// conversation and the visitor's `last_seq`. Other frames before it get an
/// error and do not close the connection.
async fn greet(socket: &mut WebSocket, desk: &Desk, gate: &FrameGate) -> Greeted {
    let max = desk.limits().max_frame_bytes;
    loop {
        let received = socket.recv().await;
        let reply = match receive::<VisitorRequest>(received, gate, max) {
            Incoming::Request(VisitorRequest::Hello { token, last_seq, page }) => {
                match desk.open(token.as_deref(), page.as_deref()).await {
                    Ok(opened) => {
                        let id = opened.conversation.id;
                        let welcome = VisitorUpdate::Welcome {
                            token: opened.token,
                            state: opened.conversation.state,
                            responder: opened.responder,
                        };
                        return match send(socket, &welcome).await {
                            true => Greeted::Open(id, last_seq),
                            false => Greeted::Gone,
                        };
                    }
                    Err(e) => error(&e),
                }
            }
            Incoming::Request(_) => rejected(Reject::new(ErrorCode::HelloFirst, "send hello first")),
            Incoming::Bad(reject) => rejected(reject),
            Incoming::Ignore => continue,
            Incoming::Closed => return Greeted::Gone,
            Incoming::Broken(reject, code) => return Greeted::Broken(reject, code),
        };
        if !send(socket, &reply).await {
            return Greeted::Gone;
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
