//! The handoff journey over real sockets: the assistant answers, each of
//! the three mechanisms hands off, the assistant stays paused, an agent
//! claims, replies and hands back, and the visitor's thread never breaks.

mod support;

use baton_shared::*;
use support::*;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");

#[tokio::test]
async fn assistant_answers_from_the_knowledge_base() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;

    let seq = visitor.say("m1", "How long does shipping take?").await;
    let mine = visitor.event().await;
    assert_eq!(
        (mine.seq, &mine.body),
        (
            seq,
            &EventBody::Visitor {
                client_id: "m1".into(),
                text: "How long does shipping take?".into()
            }
        )
    );
    let answer = visitor.event().await;
    match answer.body {
        EventBody::Assistant {
            name,
            text,
            articles,
            confidence,
            ..
        } => {
            assert_eq!(name, "Nova");
            assert!(text.contains("business days"), "{text}");
            assert_eq!(articles, ["How long does shipping take?"]);
            assert!(confidence.unwrap() >= 0.8);
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[tokio::test]
async fn the_whole_journey_hands_off_and_back_in_one_thread() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    assert!(agent.queue().await.is_empty());

    // A policy rule fires: the visitor is told a person is coming.
    visitor
        .say(
            "m1",
            "I want to file a complaint about the delivery driver.",
        )
        .await;
    let notice = visitor
        .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;

    // The team's queue shows it with the reason.
    let entries = agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } if !entries.is_empty() => Some(entries),
            _ => None,
        })
        .await;
    let entry = &entries[0];
    assert_eq!(
        (entry.state, entry.mechanism),
        (ConversationState::Queued, Mechanism::Rule)
    );
    assert!(entry.intent.contains("complaint"), "{entry:?}");
    let id = entry.conversation;

    // The agent opens it: brief, then the whole transcript.
    agent
        .send(&AgentRequest::Watch {
            conversation: id,
            last_seq: 0,
        })
        .await;
    let detail = agent.detail().await;
    let brief = detail.brief.expect("a brief");
    assert_eq!(brief.mechanism, Mechanism::Rule);
    assert!(brief.rule.is_some());
    assert_eq!(brief.page.as_deref(), Some("https://shop.example/boots"));
    assert_eq!(
        detail.responder,
        Responder::Assistant {
            name: "Nova".into()
        }
    );

    // While queued the assistant stays silent.
    visitor.say("m2", "How long does shipping take?").await;
    visitor
        .event_where(|b| matches!(b, EventBody::Visitor { .. }))
        .await;

    // Claim: the visitor sees the responder change to the agent.
    agent.send(&AgentRequest::Claim { conversation: id }).await;
    let joined = visitor.event().await;
    assert_eq!(joined.body, EventBody::AgentJoined { name: "Mia".into() });
    let detail = agent
        .until(|u| match u {
            AgentUpdate::Conversation { detail } if detail.state == ConversationState::Human => {
                Some(detail)
            }
            _ => None,
        })
        .await;
    assert_eq!(detail.responder, Responder::Agent { name: "Mia".into() });

    agent
        .send(&AgentRequest::Reply {
            conversation: id,
            client_id: "a1".into(),
            text: "Sorry about that — I'm on it.".into(),
        })
        .await;
    let reply = visitor.event().await;
    assert_eq!(
        reply.body,
        EventBody::Agent {
            name: "Mia".into(),
            client_id: "a1".into(),
            text: "Sorry about that — I'm on it.".into()
        }
    );

    // Hand back: the assistant's name returns and it answers again.
    agent.send(&AgentRequest::Resume { conversation: id }).await;
    let resumed = visitor.event().await;
    assert_eq!(
        resumed.body,
        EventBody::AssistantResumed {
            name: "Nova".into()
        }
    );
    visitor
        .say("m3", "Which payment methods do you accept?")
        .await;
    visitor
        .event_where(|b| matches!(b, EventBody::Visitor { .. }))
        .await;
    let answer = visitor.event().await;
    assert!(
        matches!(&answer.body, EventBody::Assistant { text, .. } if text.contains("PayPal")),
        "{answer:?}"
    );

    // One continuous log, in order, with no break and no restart.
    let log = full_log(&server, &token).await;
    let kinds: Vec<&str> = log.iter().map(|e| e.body.kind()).collect();
    assert_eq!(
        kinds,
        [
            "visitor",
            "handoff_started",
            "visitor",
            "agent_joined",
            "agent",
            "assistant_resumed",
            "visitor",
            "assistant"
        ]
    );
    assert!(log.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    assert_eq!(log[1], notice);
}

#[tokio::test]
async fn the_button_hands_off_and_the_assistant_stays_paused() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    visitor.say("m1", "How long does shipping take?").await;
    visitor
        .event_where(|b| matches!(b, EventBody::Assistant { .. }))
        .await;

    visitor
        .send(&VisitorRequest::RequestHuman {
            client_id: "b1".into(),
        })
        .await;
    let started = visitor
        .event_where(|b| matches!(b, EventBody::HandoffStarted { .. }))
        .await;
    // Pressing again is not an argument: acknowledged, nothing new.
    visitor
        .send(&VisitorRequest::RequestHuman {
            client_id: "b2".into(),
        })
        .await;
    let ack = visitor
        .until(|u| match u {
            VisitorUpdate::Ack { client_id, seq } if client_id == "b2" => Some(seq),
            _ => None,
        })
        .await;
    assert_eq!(ack, started.seq);

    // A question the assistant could answer gets no answer while paused.
    // The socket handles frames in order, so once the error for the bad
    // frame arrives, the assistant's turn for `m2` is over.
    visitor.say("m2", "How long does shipping take?").await;
    visitor
        .send_raw(tokio_tungstenite::tungstenite::Message::text("not json"))
        .await;
    visitor.error().await;

    let mut replay = server.visitor().await;
    replay.hello(Some(&token), started.seq).await;
    let after = replay.event().await;
    assert!(matches!(after.body, EventBody::Visitor { ref client_id, .. } if client_id == "m2"));
    let log = full_log(&server, &token).await;
    assert!(
        !log.iter()
            .skip_while(|e| e.seq <= started.seq)
            .any(|e| matches!(e.body, EventBody::Assistant { .. })),
        "{log:?}"
    );
}

#[tokio::test]
async fn low_confidence_withholds_the_draft_and_briefs_the_agent() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;

    // "sell" is an everyday word for "offer" (the gift cards article),
    // but bicycles are nowhere: not even worth asking about.
    visitor.say("m1", "Do you sell bicycles?").await;
    visitor
        .event_where(|b| matches!(b, EventBody::Visitor { .. }))
        .await;
    let next = visitor.event().await;
    assert!(
        matches!(next.body, EventBody::HandoffStarted { .. }),
        "the draft must not be shown: {next:?}"
    );

    let brief = first_in_queue(&mut agent, Mechanism::Confidence).await;
    let (confidence, threshold) = (brief.confidence.unwrap(), brief.threshold.unwrap());
    assert!(confidence < threshold, "{confidence} < {threshold}");
    assert_eq!(threshold, 0.8);
    assert!(brief.withheld_draft.is_some());
    assert_eq!(brief.intent, "Do you sell bicycles?");
}

/// The brief of the first conversation in the agent's queue, once there
/// is one, handed off by `mechanism`.
async fn first_in_queue(
    agent: &mut Client<AgentRequest, AgentUpdate>,
    mechanism: Mechanism,
) -> Brief {
    let entries = agent
        .until(|u| match u {
            AgentUpdate::Queue { entries } if !entries.is_empty() => Some(entries),
            _ => None,
        })
        .await;
    assert_eq!(entries[0].mechanism, mechanism);
    agent
        .send(&AgentRequest::Watch {
            conversation: entries[0].conversation,
            last_seq: 0,
        })
        .await;
    agent.detail().await.brief.unwrap()
}

/// Asks what the demo knowledge base half answers about payment; the
/// assistant must ask back which article is meant. Returns the choices.
async fn ask_about_paying(
    visitor: &mut Client<VisitorRequest, VisitorUpdate>,
    client_id: &str,
    question: &str,
) -> Vec<String> {
    visitor.say(client_id, question).await;
    match visitor
        .event_where(|b| !matches!(b, EventBody::Visitor { .. }))
        .await
        .body
    {
        EventBody::Assistant {
            text,
            choices,
            confidence,
            ..
        } => {
            assert!(
                text.contains("Which payment methods do you accept?"),
                "asked in words too: {text}"
            );
            assert!(confidence.unwrap() < 0.8);
            choices
        }
        other => panic!("expected a clarifying question, got {other:?}"),
    }
}

/// Unsure which article is meant, the assistant asks with `choices`; a
/// client answers with a title (`say`, word for word) or with
/// `request_human` for none of them — as the README tells integrators.
#[tokio::test]
async fn a_clarifying_question_on_the_wire() {
    const PAYMENT: &str = "Which payment methods do you accept?";
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;

    let choices = ask_about_paying(&mut visitor, "m1", "Do you accept Bitcoin?").await;
    assert_eq!(choices.first().map(String::as_str), Some(PAYMENT));

    // The title, word for word: answered from that article, for sure.
    visitor.say("m2", PAYMENT).await;
    let answer = visitor
        .event_where(|b| matches!(b, EventBody::Assistant { .. }))
        .await;
    let EventBody::Assistant {
        text,
        articles,
        confidence,
        choices,
        ..
    } = answer.body
    else {
        unreachable!()
    };
    assert!(text.contains("PayPal"), "{text}");
    assert_eq!(articles, [PAYMENT]);
    assert_eq!(confidence, Some(1.0));
    assert!(choices.is_empty());

    // Asked again, the button means none of these: a person, for the
    // assistant's lack of confidence, with what was offered in the brief.
    ask_about_paying(
        &mut visitor,
        "m3",
        "Can I pay with my Klarna account balance?",
    )
    .await;
    visitor.press_human().await;
    let brief = first_in_queue(&mut agent, Mechanism::Confidence).await;
    assert!(
        brief.reason.contains("none of those offered fit"),
        "{}",
        brief.reason
    );
    assert_eq!(brief.intent, "Can I pay with my Klarna account balance?");
    assert_eq!(brief.turn, 3, "the question's turn");
    let asked = brief.tried.last().unwrap();
    assert_eq!(asked.question, "Can I pay with my Klarna account balance?");
    assert_eq!(asked.articles.first().map(String::as_str), Some(PAYMENT));
}

#[tokio::test]
async fn a_typed_request_for_a_person_hands_off() {
    let server = TestServer::start().await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor.say("m1", "Can I speak to a human please?").await;
    visitor
        .event_where(|b| matches!(b, EventBody::Visitor { .. }))
        .await;
    assert!(matches!(
        visitor.event().await.body,
        EventBody::HandoffStarted { .. }
    ));
}
