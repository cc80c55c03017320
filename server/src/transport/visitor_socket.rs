//! `/ws/visitor`: the widget's socket.
//!
//! The first frame must be `hello`; the socket then carries the visitor's
//! messages and button presses to the desk and the conversation's events
//! back, exactly once and in order (see [`Follower`]). Bad frames get an
//! error frame and the connection stays usable.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use baton_shared::{ConversationId, ErrorCode, Seq, VisitorRequest, VisitorUpdate};

use super::AppState;
use super::follow::{Delivery, Follower};
use super::frames::{
    ErrorFrame, Incoming, Reject, close_broken, close_with, encode, receive, send,
};
use super::limits::{FrameGate, refuse};
use super::origins::CLOSE_REFUSED;
use crate::desk::{Desk, DeskError, Posted, Signal};

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
    // A 4 KiB read buffer instead of tungstenite's 128 KiB, which stays
    // resident per socket (BENCHMARKS.md, idle visitors); frames still
    // grow it up to the cap.
    let ws = ws
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .read_buffer_size(4096);
    // A refused page still counts against its address: a page reloading
    // in a loop is throttled like any other.
    let admitted = state.rate_limits.admit(peer, &headers);
    match admitted.map(|()| state.origins.check(&headers)) {
        Ok(Ok(())) => ws.on_upgrade(move |socket| tracker.track_future(run(socket, state))),
        // Upgraded only to be told why (see `origins`); nothing is read.
        Ok(Err(refused)) => ws.on_upgrade(move |socket| {
            let frame = encode(&rejected(refused.reject()));
            tracker.track_future(close_with(
                socket,
                frame,
                CLOSE_REFUSED,
                "origin not allowed",
            ))
        }),
        Err(reject) => ws.on_upgrade(move |socket| {
            tracker.track_future(refuse(socket, encode(&rejected(reject))))
        }),
    }
}

async fn run(mut socket: WebSocket, state: AppState) {
    let desk = state.desk.clone();
    // Counts the socket; once it has a conversation, the visitor is there
    // until it ends (stored when dropped, however it ends).
    let mut connection = desk.visitor_connection(&state.sockets);
    let max = desk.limits().max_frame_bytes;
    let mut shutdown = state.shutdown.clone();
    let gate = state.rate_limits.socket();

    let hello_timeout = Duration::from_millis(desk.limits().hello_timeout_ms);
    let greeted = tokio::select! {
        greeted = tokio::time::timeout(hello_timeout, greet(&mut socket, &desk, &gate)) => greeted,
        _ = shutdown.changed() => return close_for_restart(socket).await,
    };
    let (id, last_seq) = match greeted {
        Ok(Greeted::Open(id, last_seq)) => (id, last_seq),
        Ok(Greeted::Broken(reject, code)) => {
            return close_broken(socket, encode(&rejected(reject)), code).await;
        }
        Ok(Greeted::Gone) => return,
        // Said why, and closed properly: a client can tell this from a
        // network failure.
        Err(_) => {
            let reject = Reject::new(
                baton_shared::ErrorCode::HelloFirst,
                format!("no hello within {} ms", hello_timeout.as_millis()),
            );
            return close_with(socket, encode(&rejected(reject)), 1008, "no hello").await;
        }
    };
    if let Err(e) = connection.arrived(id).await {
        tracing::warn!(conversation = id, %e, "could not store that the visitor is here");
    }
    let (mut follower, mut rx, backlog) = match Follower::start(&desk, id, last_seq).await {
        Ok(started) => started,
        Err(e) => {
            send(&mut socket, &error(&e, None)).await;
            return;
        }
    };
    for event in backlog {
        if !send(&mut socket, &VisitorUpdate::Event { event }).await {
            return;
        }
    }

    // The assistant's turn runs beside the socket, as its own task, so its
    // drafts reach the visitor while it writes and the "Talk to a human"
    // button, typing and read receipts work meanwhile — and so it keeps
    // going (and lets go of the database) while the socket handles one of
    // those. Messages (and ratings) sent during a turn wait for it: each
    // message is answered in turn, as before. Once anything waits,
    // everything after it waits too, so replies keep the order of the
    // frames. A turn outlives its socket; one cut off by a crash is owed
    // and taken when the visitor is back.
    let turns = state.sockets.clone();
    let mut turn: Option<AssistantTurn> = Some(assistant_turn(&turns, &desk, id, None));
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    loop {
        while turn.is_none() {
            let handled = match waiting.pop_front() {
                None => break,
                Some(Waiting::Request(request)) => handle(&mut socket, &desk, id, request).await,
                Some(Waiting::Reply(reply)) => match send(&mut socket, &reply).await {
                    true => Handled::Open,
                    false => Handled::Closed,
                },
            };
            match handled {
                Handled::Open => {}
                Handled::Answer(seq) => turn = Some(assistant_turn(&turns, &desk, id, Some(seq))),
                Handled::Closed => return,
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return close_for_restart(socket).await,
            _ = async { turn.as_mut().expect("only polled while running").await }, if turn.is_some() => {
                turn = None;
            }
            received = rx.recv() => {
                match follower.on_broadcast(&desk, received).await {
                    Ok(Delivery::Events(events)) => {
                        for event in events {
                            if !send(&mut socket, &VisitorUpdate::Event { event }).await { return }
                        }
                    }
                    Ok(Delivery::Signal(Signal::ResponderTyping { name, typing })) => {
                        if !send(&mut socket, &VisitorUpdate::Typing { name, typing }).await { return }
                    }
                    Ok(Delivery::Signal(Signal::Draft { name, text })) => {
                        if !send(&mut socket, &VisitorUpdate::Draft { name, text }).await { return }
                    }
                    Ok(Delivery::Signal(_)) => {}
                    Err(e) => { tracing::error!(conversation = id, %e, "replay failed"); return }
                }
            }
            // A visitor who keeps writing while the assistant answers is
            // read no further once enough waits.
            received = socket.recv(), if waiting.len() < MAX_WAITING => {
                let open = match receive::<VisitorRequest>(received, &gate, max) {
                    Incoming::Request(request)
                        if !waiting.is_empty() || (turn.is_some() && waits_for_turn(&request)) =>
                    {
                        waiting.push_back(Waiting::Request(request));
                        true
                    }
                    Incoming::Request(request) => match handle(&mut socket, &desk, id, request).await {
                        Handled::Open => true,
                        Handled::Answer(seq) => {
                            turn = Some(assistant_turn(&turns, &desk, id, Some(seq)));
                            true
                        }
                        Handled::Closed => false,
                    },
                    Incoming::Bad(reject) if !waiting.is_empty() => {
                        waiting.push_back(Waiting::Reply(rejected(reject)));
                        true
                    }
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

/// Requests read while the assistant answers that wait for it to finish.
const MAX_WAITING: usize = 16;

/// The assistant answering one turn (or, at connection, a turn owed).
type AssistantTurn = tokio::task::JoinHandle<()>;

/// Spawned on the sockets' tracker: a graceful shutdown waits for it.
fn assistant_turn(
    tracker: &tokio_util::task::TaskTracker,
    desk: &Desk,
    id: ConversationId,
    seq: Option<Seq>,
) -> AssistantTurn {
    let desk = desk.clone();
    tracker.spawn(async move {
        let result = match seq {
            Some(seq) => desk.respond(id, seq).await,
            None => desk.answer_pending(id).await,
        };
        if let Err(e) = result {
            tracing::error!(conversation = id, %e, "assistant turn failed");
        }
    })
}

/// Whether a request read during the assistant's turn waits for it: what
/// is stored in the log does (messages stay in order, each answered);
/// the button, typing and read receipts do not (unless something already
/// waits).
fn waits_for_turn(request: &VisitorRequest) -> bool {
    matches!(
        request,
        VisitorRequest::Say { .. } | VisitorRequest::Attach { .. } | VisitorRequest::Rate { .. }
    )
}

/// Read during the assistant's turn, answered after it.
enum Waiting {
    Request(VisitorRequest),
    /// A refusal (bad frame, rate limit) decided when it was read.
    Reply(VisitorUpdate),
}

/// What handling a request left to do.
enum Handled {
    Open,
    /// A fresh message is stored as this seq: the assistant answers it.
    Answer(Seq),
    /// The socket is gone.
    Closed,
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
            Incoming::Request(VisitorRequest::Hello {
                token,
                last_seq,
                page,
                identity,
                metadata,
            }) => {
                match desk
                    .open(
                        token.as_deref(),
                        page.as_deref(),
                        identity.as_ref(),
                        &metadata,
                    )
                    .await
                {
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
                    Err(e) => error(&e, None),
                }
            }
            Incoming::Request(_) => {
                rejected(Reject::new(ErrorCode::HelloFirst, "send hello first"))
            }
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

/// Acknowledges a stored message or file as soon as it is stored; a new
/// one (not a retry) is the assistant's turn, which follows.
async fn acknowledge(
    socket: &mut WebSocket,
    client_id: String,
    posted: Result<Posted, DeskError>,
) -> Handled {
    let sent = match posted {
        Ok(posted) => {
            let ack = VisitorUpdate::Ack {
                client_id,
                seq: posted.seq,
            };
            match send(socket, &ack).await {
                true if posted.fresh => return Handled::Answer(posted.seq),
                sent => sent,
            }
        }
        Err(e) => send(socket, &error(&e, Some(client_id))).await,
    };
    if sent { Handled::Open } else { Handled::Closed }
}

/// Carries out one request.
async fn handle(
    socket: &mut WebSocket,
    desk: &Desk,
    id: ConversationId,
    request: VisitorRequest,
) -> Handled {
    let open = match request {
        VisitorRequest::Hello { .. } => {
            let reject = Reject::new(
                ErrorCode::HelloFirst,
                "hello was already sent on this connection",
            );
            send(socket, &rejected(reject)).await
        }
        VisitorRequest::Say { client_id, text } => {
            let posted = desk.say(id, &client_id, &text).await;
            return acknowledge(socket, client_id, posted).await;
        }
        // A shared file is a turn too: a voice message may need a person.
        VisitorRequest::Attach { client_id, upload } => {
            let posted = desk.visitor_attach(id, &client_id, &upload).await;
            return acknowledge(socket, client_id, posted).await;
        }
        VisitorRequest::RequestHuman { client_id } => {
            match desk.request_human(id, &client_id).await {
                Ok(seq) => send(socket, &VisitorUpdate::Ack { client_id, seq }).await,
                Err(e) => send(socket, &error(&e, Some(client_id))).await,
            }
        }
        VisitorRequest::Typing { typing } => {
            desk.visitor_typing(id, typing);
            true
        }
        VisitorRequest::Read { seq } => match desk.read(id, seq).await {
            Ok(()) => true,
            Err(e) => send(socket, &error(&e, None)).await,
        },
        VisitorRequest::Rate {
            client_id,
            rating,
            comment,
        } => match desk.rate(id, &client_id, rating, comment).await {
            Ok(seq) => send(socket, &VisitorUpdate::Ack { client_id, seq }).await,
            Err(e) => send(socket, &error(&e, Some(client_id))).await,
        },
    };
    if open { Handled::Open } else { Handled::Closed }
}

fn error(e: &DeskError, client_id: Option<String>) -> VisitorUpdate {
    VisitorUpdate::refused(e, client_id)
}

fn rejected(reject: Reject) -> VisitorUpdate {
    VisitorUpdate::rejected(reject)
}

/// Tells the client to come back: 1012 is "service restart".
pub(super) async fn close_for_restart(mut socket: WebSocket) {
    let frame = CloseFrame {
        code: 1012,
        reason: "server restarting; reconnect".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
