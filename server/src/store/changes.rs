//! What PostgreSQL nodes tell each other on the [`CHANNEL`](super::CHANNEL)
//! channel, as short text: `<node> <kind> …`.
//!
//! Notices are hints, like the in-process hub's broadcasts: an event notice
//! names the stored range (`conversation first..=last`) and every node reads
//! the events themselves from the log, so a notice never carries anything a
//! reader could not get again after missing it.

use baton_shared::{ConversationId, Seq};

/// One notice, without the node that sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// Events `first..=last` of `conversation` were committed.
    Events {
        conversation: ConversationId,
        first: Seq,
        last: Seq,
    },
    /// A passing signal (typing, a draft, a read receipt) as JSON.
    Signal {
        conversation: ConversationId,
        json: String,
    },
    /// The set of waiting or held conversations changed.
    Queue,
    /// An agent taught the assistant something: read the lessons again.
    Knowledge,
}

/// PostgreSQL refuses notice payloads from 8000 bytes on.
pub const MAX_NOTICE_BYTES: usize = 7_999;

impl Notice {
    pub fn encode(&self, node: &str) -> String {
        match self {
            Notice::Events {
                conversation,
                first,
                last,
            } => format!("{node} e {conversation} {first} {last}"),
            Notice::Signal { conversation, json } => format!("{node} s {conversation} {json}"),
            Notice::Queue => format!("{node} q"),
            Notice::Knowledge => format!("{node} k"),
        }
    }

    /// The sending node and the notice; `None` for anything else on the
    /// channel.
    pub fn decode(payload: &str) -> Option<(&str, Notice)> {
        let (node, rest) = payload.split_once(' ')?;
        let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let notice = match kind {
            "e" => {
                let mut parts = rest.split(' ');
                let conversation = parts.next()?.parse().ok()?;
                let first = parts.next()?.parse().ok()?;
                let last = parts.next()?.parse().ok()?;
                if parts.next().is_some() || first > last {
                    return None;
                }
                Notice::Events {
                    conversation,
                    first,
                    last,
                }
            }
            "s" => {
                let (conversation, json) = rest.split_once(' ')?;
                Notice::Signal {
                    conversation: conversation.parse().ok()?,
                    json: json.to_string(),
                }
            }
            "q" if rest.is_empty() => Notice::Queue,
            "k" if rest.is_empty() => Notice::Knowledge,
            _ => return None,
        };
        Some((node, notice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        for notice in [
            Notice::Events {
                conversation: 7,
                first: 3,
                last: 5,
            },
            Notice::Signal {
                conversation: 7,
                json: r#"{"typing":true, "x": "a b"}"#.into(),
            },
            Notice::Queue,
            Notice::Knowledge,
        ] {
            let text = notice.encode("n1");
            assert_eq!(Notice::decode(&text), Some(("n1", notice)));
        }
    }

    #[test]
    fn anything_else_is_ignored() {
        for text in [
            "",
            "n1",
            "n1 x 1",
            "n1 e 1 2",
            "n1 e 1 3 2",
            "n1 e a 1 2",
            "n1 q extra",
            "n1 k 1",
            "n1 e 1 2 3 4",
        ] {
            assert_eq!(Notice::decode(text), None, "{text:?}");
        }
    }
}
