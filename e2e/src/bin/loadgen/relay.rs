//! The yardstick: a bare axum WebSocket relay with no storage, run by
//! `loadgen relay` as its own process so it is measured exactly as Baton
//! is (same WebSocket stack, same fan-out design, its own RSS and CPU).
//!
//! One room per conversation. Text frames:
//! - `join <room>` → the socket joins the room; answered `joined <room>`.
//! - `<room> <anything>` → sent as is to every other member of the room.
//!
//! Fan-out is Baton's hub without the database: a tokio broadcast channel
//! per room (the same 64-slot buffer) and a `StreamMap` of the rooms a
//! socket is in. So the difference between the two servers is what Baton
//! adds — parsing and checking JSON frames, the durable write before an
//! event is published, the ack — not how frames travel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;

/// Buffer per room, as Baton's hub has per conversation.
const ROOM_BUFFER: usize = 64;

/// A frame and the socket it came from (which does not get it back).
type Relayed = (u64, Utf8Bytes);

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<u64, broadcast::Sender<Relayed>>>,
    next_socket: AtomicU64,
}

impl Rooms {
    fn subscribe(&self, room: u64) -> broadcast::Receiver<Relayed> {
        let mut rooms = self.rooms.lock().expect("rooms lock");
        rooms
            .entry(room)
            .or_insert_with(|| broadcast::channel(ROOM_BUFFER).0)
            .subscribe()
    }

    fn publish(&self, room: u64, from: u64, text: Utf8Bytes) {
        let rooms = self.rooms.lock().expect("rooms lock");
        if let Some(sender) = rooms.get(&room) {
            let _ = sender.send((from, text));
        }
    }
}

#[derive(Clone)]
struct RelayState {
    rooms: Arc<Rooms>,
    /// Bytes of each socket's read buffer; `None`: axum's default.
    read_buffer: Option<usize>,
}

/// Serves until killed; prints `relay listening on http://ADDR/` once
/// bound, as Baton prints its address.
pub async fn serve(listen: SocketAddr, read_buffer: Option<usize>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("relay listening on http://{}/", listener.local_addr()?);
    let state = RelayState {
        rooms: Arc::default(),
        read_buffer,
    };
    let app = Router::new().route("/ws", get(upgrade)).with_state(state);
    // Nagle off, as a relay written for latency has it: otherwise a frame
    // written while the previous one is unacknowledged waits for the
    // peer's (delayed) ACK. Baton's own sockets keep axum's default, with
    // Nagle on; BENCHMARKS.md shows what that costs.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

async fn upgrade(State(state): State<RelayState>, ws: WebSocketUpgrade) -> Response {
    let ws = match state.read_buffer {
        Some(bytes) => ws.read_buffer_size(bytes),
        None => ws,
    };
    let me = state.rooms.next_socket.fetch_add(1, Ordering::Relaxed);
    ws.on_upgrade(move |socket| connection(socket, state.rooms, me))
}

async fn connection(mut socket: WebSocket, rooms: Arc<Rooms>, me: u64) {
    let mut joined: StreamMap<u64, BroadcastStream<Relayed>> = StreamMap::new();
    loop {
        tokio::select! {
            received = socket.recv() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                };
                if let Some(room) = text.as_str().strip_prefix("join ") {
                    let Ok(room) = room.trim().parse::<u64>() else { continue };
                    joined.insert(room, BroadcastStream::new(rooms.subscribe(room)));
                    let answer = Message::Text(format!("joined {room}").into());
                    if socket.send(answer).await.is_err() {
                        return;
                    }
                } else if let Some(room) = text
                    .as_str()
                    .split(' ')
                    .next()
                    .and_then(|r| r.parse::<u64>().ok())
                {
                    rooms.publish(room, me, text);
                }
            }
            Some((_, relayed)) = joined.next() => {
                // A lagging member misses frames, as a lagging Baton socket
                // would (Baton then re-reads its log; here they are lost and
                // counted as such by the load generator).
                if let Ok((from, text)) = relayed
                    && from != me
                    && socket.send(Message::Text(text)).await.is_err()
                {
                    return;
                }
            }
        }
    }
}
