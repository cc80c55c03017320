//! The bare relay's side of the load: the same conversations (rooms), the
//! same sockets (one per visitor, the same number of agent sockets each in
//! its share of the rooms) and the same message text as Baton gets.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{self, Dir, Live, TEXT, Wiring, Ws, WsReader};

/// Opens a socket and joins `rooms`, waiting for each `joined`.
pub async fn open(url: &str, rooms: impl IntoIterator<Item = usize>) -> Result<Ws, String> {
    let mut ws = load::connect(url, None).await?;
    let rooms: Vec<usize> = rooms.into_iter().collect();
    for room in &rooms {
        ws.feed(Message::text(format!("join {room}")))
            .await
            .map_err(|e| format!("joining: {e}"))?;
    }
    ws.flush().await.map_err(|e| format!("joining: {e}"))?;
    let mut answered = 0;
    while answered < rooms.len() {
        let text = load::recv_text(&mut ws, load::CONNECT_WAIT).await?;
        if text.starts_with("joined ") {
            answered += 1;
        }
    }
    Ok(ws)
}

/// The relay carrying the load.
pub struct RelayLoad {
    visitors: Vec<UnboundedSender<String>>,
    agents: Vec<UnboundedSender<String>>,
}

impl Wiring for RelayLoad {
    fn send(&self, dir: Dir, conversation: usize, id: &str) -> bool {
        let frame = format!("{conversation} {id} {TEXT} [{id}]");
        let socket = match dir {
            Dir::V2A => self.visitors.get(conversation),
            Dir::A2V => self.agents.get(conversation % self.agents.len()),
        };
        socket.is_some_and(|s| s.send(frame).is_ok())
    }

    fn conversations(&self) -> usize {
        self.visitors.len()
    }

    fn acks(&self) -> bool {
        false
    }
}

/// Opens the sockets: agent socket `j` joins rooms `j, j + A, j + 2A, …`,
/// as Baton's agent socket `j` watches those conversations.
pub async fn setup(
    server: &crate::servers::ServerProcess,
    conversations: usize,
    agent_sockets: usize,
    live: Arc<Live>,
) -> Result<RelayLoad, String> {
    let url = server.ws("/ws");
    let agent_sockets = agent_sockets.max(1);
    let mut agents = Vec::new();
    for j in 0..agent_sockets {
        let ws = open(&url, (j..conversations).step_by(agent_sockets)).await?;
        let (tx, rx) = load::split(ws, live.clone());
        agents.push(tx);
        tokio::spawn(reader(rx, Dir::V2A, live.clone()));
    }
    let opened = futures::stream::iter(0..conversations)
        .map(|i| {
            let url = url.clone();
            async move { (i, open(&url, [i]).await) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let mut sockets: Vec<Option<Ws>> = (0..conversations).map(|_| None).collect();
    for (i, ws) in opened {
        sockets[i] = Some(ws?);
    }
    let mut visitors = Vec::new();
    for ws in sockets {
        let ws = ws.ok_or("a relay socket went missing")?;
        let (tx, rx) = load::split(ws, live.clone());
        visitors.push(tx);
        tokio::spawn(reader(rx, Dir::A2V, live.clone()));
    }
    Ok(RelayLoad { visitors, agents })
}

/// Frames `<room> <id> …` arriving at a socket that receives `dir`.
async fn reader(mut reader: WsReader, dir: Dir, live: Arc<Live>) {
    while let Some(message) = reader.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        if let Some(id) = text.as_str().split(' ').nth(1) {
            let expected = match dir {
                Dir::V2A => 'v',
                Dir::A2V => 'a',
            };
            if id.starts_with(expected) {
                live.delivered(id);
            }
        }
    }
    live.error("a relay socket closed".into());
}
