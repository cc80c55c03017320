//! `/ws/agent`: the console's socket, for a signed-in agent.
//!
//! On connect the agent gets `hello` and the queue, and the queue again
//! whenever it changes. Watched conversations stream their events exactly
//! once and in order (see [`Follower`]), plus a fresh detail whenever an
//! event moves the conversation to another state, and the visitor's typing
//! and read receipts.
//!
//! The socket lives as long as its sign-in: it closes (an `unauthorized`
//! error, then close code 1008) when the session is signed out on this
//! node, and when a request or the periodic check finds it signed out
//! elsewhere, expired, or its agent gone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use baton_shared::{AgentRef, AgentRequest, AgentUpdate, ConversationId, EventBody};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::AppState;
use super::follow::{Delivery, Follower};
use super::frames::{
    ErrorFrame, Incoming, Reject, close_broken, close_with, encode, receive, send,
};
use super::http::{AppError, signed_in_agent};
use super::limits::refuse;
use super::visitor_socket::close_for_restart;
use crate::desk::{Broadcast, Desk, DeskError, Signal};
use crate::team::{self, SESSION_COOKIE};

/// How often an idle socket checks that its session still holds (an
/// expiry, or a sign-out on another node, is noticed within this).
const SESSION_CHECK: Duration = Duration::from_secs(60);

/// The sign-in a socket runs on.
struct Session {
    token: String,
    digest: [u8; 32],
}

impl Session {
    /// Whether it still signs in `agent`. A database that cannot say
    /// keeps the socket: the request itself will fail and say so.
    async fn holds(&self, desk: &Desk, agent: &AgentRef) -> bool {
        match team::session_agent(desk.store(), &self.token).await {
            Ok(found) => found.is_some_and(|a| a.id == agent.id),
            Err(error) => {
                tracing::warn!(%error, "could not check an agent's session");
                true
            }
        }
    }
}

/// Whether `origin` is the console's own: the configured `public_url`, or
/// the host the request was sent to (any scheme: a proxy may end TLS).
fn console_origin(origin: &[u8], headers: &HeaderMap, public: Option<&str>) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    if public.is_some_and(|p| p.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Tells the console its session is over and closes.
async fn signed_out(socket: WebSocket) {
    let frame = AgentUpdate::Error {
        code: baton_shared::ErrorCode::Unauthorized,
        message: "Your session has ended: sign in again.".into(),
        client_id: None,
    };
    close_with(socket, encode(&frame), 1008, "signed out").await;
}

pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let hard_cap = state.desk.limits().max_frame_bytes * 4;
    let tracker = state.sockets.clone();
    // A 4 KiB read buffer instead of tungstenite's 128 KiB, which stays
    // resident per socket (BENCHMARKS.md, idle visitors); frames still
    // grow it up to the cap.
    let ws = ws
        .max_message_size(hard_cap)
        .max_frame_size(hard_cap)
        .read_buffer_size(4096);
    // Counted before the session is looked up, so guessing cookies costs too.
    if let Err(reject) = state.rate_limits.admit(peer, &headers) {
        let frame = encode(&rejected(reject));
        return Ok(ws.on_upgrade(move |socket| tracker.track_future(refuse(socket, frame))));
    }
    let agent = signed_in_agent(&state, &jar).await?;
    // A page elsewhere (another site, a sibling subdomain, a sandboxed
    // `null` origin) must not drive the console's socket with the cookie
    // the browser attaches; clients outside a browser send no Origin.
    if let Some(origin) = headers.get(axum::http::header::ORIGIN)
        && !console_origin(origin.as_bytes(), &headers, state.public_origin.as_deref())
    {
        return Err(AppError::Forbidden(format!(
            "the agent socket is only for the console on this server; {} is another site",
            super::origins::quoted(origin.as_bytes())
        )));
    }
    let token = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let session = Session {
        digest: crate::secret::digest(&token),
        token,
    };
    Ok(ws.on_upgrade(move |socket| tracker.track_future(run(socket, state, agent, session))))
}

/// The conversations this socket watches.
#[derive(Default)]
struct Watching {
    streams: StreamMap<ConversationId, BroadcastStream<Broadcast>>,
    followers: HashMap<ConversationId, Follower>,
}

async fn run(mut socket: WebSocket, state: AppState, agent: AgentRef, session: Session) {
    let desk = state.desk.clone();
    let mut sign_outs = desk.hub().subscribe_sign_outs();
    let mut check = tokio::time::interval(SESSION_CHECK);
    check.tick().await;
    let _connection = desk.agent_connection();
    let max = desk.limits().max_frame_bytes;
    let mut shutdown = state.shutdown.clone();
    let gate = state.rate_limits.socket();
    let mut queue_changes = desk.hub().subscribe_queue();
    let mut watching = Watching::default();

    let hello = match desk.team().await {
        Ok(team) => AgentUpdate::Hello {
            agent: agent.clone(),
            team,
        },
        Err(e) => {
            send(&mut socket, &error(&e, None)).await;
            return;
        }
    };
    if !send(&mut socket, &hello).await || !send_queue(&mut socket, &desk).await {
        return;
    }

    loop {
        tokio::select! {
            _ = shutdown.changed() => return close_for_restart(socket).await,
            ended = sign_outs.recv() => match ended {
                Ok(digest) if digest == session.digest => return signed_out(socket).await,
                // Missed some: whether this one was among them, ask.
                Err(broadcast::error::RecvError::Lagged(_)) if !session.holds(&desk, &agent).await => {
                    return signed_out(socket).await
                }
                _ => {}
            },
            _ = check.tick() => {
                if !session.holds(&desk, &agent).await { return signed_out(socket).await }
            }
            changed = queue_changes.recv() => {
                if matches!(changed, Err(broadcast::error::RecvError::Closed)) { return }
                // One read of the queue answers every change already signalled:
                // under a burst of handoffs, re-reading it per change would
                // keep this agent's own requests waiting.
                while !matches!(queue_changes.try_recv(), Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)) {}
                if !send_queue(&mut socket, &desk).await { return }
            }
            Some((id, received)) = watching.streams.next() => {
                let received = received.map_err(|BroadcastStreamRecvError::Lagged(n)| {
                    broadcast::error::RecvError::Lagged(n)
                });
                let Some(follower) = watching.followers.get_mut(&id) else { continue };
                let open = match follower.on_broadcast(&desk, received).await {
                    Ok(Delivery::Events(events)) => send_events(&mut socket, &desk, id, events).await,
                    Ok(Delivery::Signal(Signal::VisitorTyping(typing))) => {
                        send(&mut socket, &AgentUpdate::Typing { conversation: id, typing }).await
                    }
                    Ok(Delivery::Signal(Signal::Read(seq))) => {
                        send(&mut socket, &AgentUpdate::Read { conversation: id, seq }).await
                    }
                    Ok(Delivery::Signal(Signal::DetailChanged)) => match desk.detail(id).await {
                        Ok(detail) => send(&mut socket, &AgentUpdate::Conversation { detail }).await,
                        Err(e) => send(&mut socket, &error(&e, None)).await,
                    },
                    Ok(Delivery::Signal(Signal::ResponderTyping { .. } | Signal::Draft { .. })) => true,
                    Err(e) => { tracing::error!(conversation = id, %e, "replay failed"); return }
                };
                if !open { return }
            }
            received = socket.recv() => {
                let open = match receive::<AgentRequest>(received, &gate, max) {
                    Incoming::Request(_) if !session.holds(&desk, &agent).await => {
                        return signed_out(socket).await
                    }
                    Incoming::Request(request) => handle(&mut socket, &desk, &agent, &mut watching, request).await,
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

/// Carries out one request; false when the socket is gone.
async fn handle(
    socket: &mut WebSocket,
    desk: &Desk,
    agent: &AgentRef,
    watching: &mut Watching,
    request: AgentRequest,
) -> bool {
    let result = match request {
        AgentRequest::Watch {
            conversation,
            last_seq,
        } => match watch(desk, watching, conversation, last_seq).await {
            Ok((detail, backlog)) => {
                return send(socket, &AgentUpdate::Conversation { detail }).await
                    && send_events(socket, desk, conversation, backlog).await;
            }
            Err(e) => Err(e),
        },
        AgentRequest::Unwatch { conversation } => {
            watching.streams.remove(&conversation);
            watching.followers.remove(&conversation);
            Ok(())
        }
        AgentRequest::Claim { conversation } => desk.claim(conversation, agent).await,
        AgentRequest::Reply {
            conversation,
            client_id,
            text,
        } => {
            return match desk.reply(conversation, agent, &client_id, &text).await {
                Ok(seq) => send(socket, &AgentUpdate::Ack { client_id, seq }).await,
                Err(e) => send(socket, &error(&e, Some(client_id))).await,
            };
        }
        AgentRequest::Attach {
            conversation,
            client_id,
            upload,
        } => {
            return match desk
                .agent_attach(conversation, agent, &client_id, &upload)
                .await
            {
                Ok(seq) => send(socket, &AgentUpdate::Ack { client_id, seq }).await,
                Err(e) => send(socket, &error(&e, Some(client_id))).await,
            };
        }
        AgentRequest::Resume { conversation } => desk.resume(conversation, agent).await,
        AgentRequest::Close { conversation } => desk.close(conversation, agent).await,
        AgentRequest::Release { conversation } => desk.release(conversation, agent).await,
        AgentRequest::Transfer { conversation, to } => desk.transfer(conversation, agent, to).await,
        AgentRequest::Typing {
            conversation,
            typing,
        } => desk.agent_typing(conversation, agent, typing).await,
        AgentRequest::Verdict {
            conversation,
            verdict,
        } => desk.verdict(conversation, agent, verdict).await,
        AgentRequest::Teach {
            conversation,
            article,
            phrasing,
            answer,
        } => {
            let teach = crate::desk::Teach {
                article: &article,
                phrasing: &phrasing,
                answer: answer.as_deref(),
            };
            desk.teach(conversation, agent, teach).await
        }
    };
    match result {
        Ok(()) => true,
        Err(e) => send(socket, &error(&e, None)).await,
    }
}

async fn watch(
    desk: &Desk,
    watching: &mut Watching,
    id: ConversationId,
    last_seq: u64,
) -> Result<(baton_shared::ConversationDetail, Vec<baton_shared::Event>), DeskError> {
    let detail = desk.detail(id).await?;
    let (follower, rx, backlog) = Follower::start(desk, id, last_seq).await?;
    watching.streams.insert(id, BroadcastStream::new(rx));
    watching.followers.insert(id, follower);
    Ok((detail, backlog))
}

/// Sends events, then the conversation's new detail if one of them changed
/// its state.
async fn send_events(
    socket: &mut WebSocket,
    desk: &Desk,
    conversation: ConversationId,
    events: Vec<baton_shared::Event>,
) -> bool {
    let mut state_changed = false;
    for event in events {
        state_changed |= !matches!(
            event.body,
            EventBody::Visitor { .. }
                | EventBody::Assistant { .. }
                | EventBody::Agent { .. }
                | EventBody::VisitorAttachment { .. }
                | EventBody::AgentAttachment { .. }
                | EventBody::Rated { .. }
        );
        if !send(
            socket,
            &AgentUpdate::Event {
                conversation,
                event,
            },
        )
        .await
        {
            return false;
        }
    }
    if !state_changed {
        return true;
    }
    match desk.detail(conversation).await {
        Ok(detail) => send(socket, &AgentUpdate::Conversation { detail }).await,
        Err(e) => send(socket, &error(&e, None)).await,
    }
}

async fn send_queue(socket: &mut WebSocket, desk: &Desk) -> bool {
    match desk.queue().await {
        Ok(entries) => send(socket, &AgentUpdate::Queue { entries }).await,
        Err(e) => send(socket, &error(&e, None)).await,
    }
}

fn error(e: &DeskError, client_id: Option<String>) -> AgentUpdate {
    AgentUpdate::refused(e, client_id)
}

fn rejected(reject: Reject) -> AgentUpdate {
    AgentUpdate::rejected(reject)
}
