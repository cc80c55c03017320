//! The store's contract, run on both backends: every scenario is one async
//! function taking a fresh [`Store`], and `both!` makes a SQLite test and a
//! PostgreSQL test of it.
//!
//! The PostgreSQL tests use a new database on the server
//! `BATON_TEST_DATABASE_URL` names (`cargo xtask test` starts one). Without
//! it they say so and pass — unless `BATON_REQUIRE_POSTGRES` is set, as the
//! test command sets it, so CI cannot skip them silently.

use std::collections::BTreeSet;

use baton::store::{
    Appended, Guard, HandoffWrite, NewHandoff, NewLesson, Store, Taught, Transition,
    create_postgres_database,
};
use baton_shared::{Brief, ConversationState, EventBody, Mechanism, Rating, Verdict};

use ConversationState::{Assistant, Closed, Human, Queued};

macro_rules! both {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    let dir = tempfile::tempdir().unwrap();
                    let url = format!("sqlite://{}", dir.path().join("store.db").display());
                    super::$scenario(baton::store::Store::connect(&url).await.unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    if let Some(store) = super::postgres().await {
                        super::$scenario(store).await;
                    }
                }
            )*
        }
    };
}

both!(
    appends_number_the_log_and_read_back_exactly_after,
    a_retried_message_is_stored_once,
    a_guard_that_does_not_hold_changes_nothing,
    concurrent_claims_have_exactly_one_winner,
    concurrent_writers_never_share_or_skip_a_seq,
    a_handoff_is_recorded_from_start_to_rating,
    a_resume_link_works_once,
    notifications_are_taken_once_and_retried,
    agents_sessions_and_settings,
    a_visitor_who_left_makes_the_handoff_abandoned,
    read_receipts_never_move_back_or_past_the_end,
    handoffs_with_and_without_a_confidence_are_both_kept,
    lessons_are_kept_once_and_read_in_order,
);

/// A fresh PostgreSQL database, or `None` (with a note) when there is no
/// server to make one on and none is required.
async fn postgres() -> Option<Store> {
    let Some(admin) = baton::store::test_postgres() else {
        eprintln!("skipped: set BATON_TEST_DATABASE_URL to run the PostgreSQL store tests");
        return None;
    };
    let url = create_postgres_database(&admin, "baton_s").await.unwrap();
    Some(Store::connect(&url).await.unwrap())
}

const NOW: i64 = 1_700_000_000_000;

async fn conversation(store: &Store) -> i64 {
    let token = baton::secret::digest(&baton::secret::new_token());
    store
        .create_conversation(&token, Some("/pricing"), None, NOW)
        .await
        .unwrap()
        .id
}

fn visitor(client_id: &str, text: &str) -> EventBody {
    EventBody::Visitor {
        client_id: client_id.into(),
        text: text.into(),
    }
}

fn agent_says(client_id: &str, text: &str) -> EventBody {
    EventBody::Agent {
        name: "Mia".into(),
        client_id: client_id.into(),
        text: text.into(),
    }
}

fn stored(appended: Appended) -> Vec<baton_shared::Event> {
    match appended {
        Appended::Stored(events) => events,
        other => panic!("expected stored, got {other:?}"),
    }
}

async fn say(store: &Store, id: i64, body: EventBody) -> Appended {
    store
        .append(
            id,
            Guard::ANY,
            Transition::Keep,
            &[body],
            HandoffWrite::None,
            NOW,
        )
        .await
        .unwrap()
}

fn brief(mechanism: Mechanism, confidence: Option<f32>) -> Brief {
    Brief {
        mechanism,
        rule: None,
        reason: "asked for a person".into(),
        confidence,
        threshold: confidence.map(|_| 0.8),
        turn: 1,
        intent: "refund for order 1234".into(),
        tried: Vec::new(),
        withheld_draft: None,
        withheld_article: None,
        next_step: "check the refund".into(),
        identity: None,
        page: None,
        out_of_hours: None,
        at: NOW,
        tried_summary: None,
        summarised_by: None,
    }
}

fn handoff(notify: Vec<(String, &'static str)>) -> HandoffWrite {
    handoff_with(Some(0.42), notify)
}

fn handoff_with(confidence: Option<f32>, notify: Vec<(String, &'static str)>) -> HandoffWrite {
    HandoffWrite::Open(Box::new(NewHandoff {
        turn: 1,
        mechanism: Mechanism::Confidence,
        rule: None,
        reason: "not sure".into(),
        confidence,
        threshold: confidence.map(|_| 0.8),
        brief: brief(Mechanism::Confidence, confidence),
        resume_nonce: "nonce-1".into(),
        notify,
        notify_until: NOW + 3_600_000,
    }))
}

/// Hands the conversation to the queue, as the desk does.
async fn hand_off(store: &Store, id: i64, notify: Vec<(String, &'static str)>) -> u64 {
    let events = stored(
        store
            .append(
                id,
                Guard::in_states(&[Assistant]),
                Transition::To(Queued, None),
                &[EventBody::HandoffStarted {
                    notice: "Bringing in a person".into(),
                }],
                handoff(notify),
                NOW,
            )
            .await
            .unwrap(),
    );
    events[0].seq
}

async fn agent(store: &Store, email: &str) -> i64 {
    store
        .add_agent(email, email, "$argon2id$hash", NOW)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn claim(store: &Store, id: i64, agent: i64, at: i64) -> Appended {
    store
        .append(
            id,
            Guard::in_states(&[Queued]),
            Transition::To(Human, Some(agent)),
            &[EventBody::AgentJoined { name: "Mia".into() }],
            HandoffWrite::Claimed(agent),
            at,
        )
        .await
        .unwrap()
}

async fn appends_number_the_log_and_read_back_exactly_after(store: Store) {
    let id = conversation(&store).await;
    let first = stored(say(&store, id, visitor("c1", "hello")).await);
    assert_eq!(first[0].seq, 1);
    let two = stored(
        store
            .append(
                id,
                Guard::ANY,
                Transition::Keep,
                &[
                    visitor("c2", "second"),
                    EventBody::Assistant {
                        name: "Nova".into(),
                        text: "answer".into(),
                        articles: vec!["Returns".into()],
                        confidence: Some(0.9),
                        choices: vec![],
                    },
                ],
                HandoffWrite::None,
                NOW + 1,
            )
            .await
            .unwrap(),
    );
    assert_eq!(two.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);

    let all = store.events_after(id, 0).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], first[0]);
    assert_eq!(&all[1..], &two[..]);
    assert_eq!(store.events_after(id, 2).await.unwrap(), &two[1..]);
    assert!(store.events_after(id, 3).await.unwrap().is_empty());

    let row = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(
        (row.last_seq, row.state, row.page.as_deref()),
        (3, Assistant, Some("/pricing"))
    );
    // Another conversation's log is its own.
    let other = conversation(&store).await;
    assert!(store.events_after(other, 0).await.unwrap().is_empty());
    assert!(store.conversation(other + 1000).await.unwrap().is_none());
}

async fn a_retried_message_is_stored_once(store: Store) {
    let id = conversation(&store).await;
    say(&store, id, visitor("a", "one")).await;
    let seq = stored(say(&store, id, visitor("b", "two")).await)[0].seq;
    match say(&store, id, visitor("b", "two, retried")).await {
        Appended::Duplicate(original) => assert_eq!(original, seq),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(store.events_after(id, 0).await.unwrap().len(), 2);
    assert_eq!(store.conversation(id).await.unwrap().unwrap().last_seq, 2);
    // The same client id in another conversation is another message.
    let other = conversation(&store).await;
    stored(say(&store, other, visitor("b", "two")).await);
}

async fn a_guard_that_does_not_hold_changes_nothing(store: Store) {
    let id = conversation(&store).await;
    say(&store, id, visitor("a", "hi")).await;
    // Not in the queue: cannot be claimed.
    let mia = agent(&store, "mia@example.com").await;
    match claim(&store, id, mia, NOW).await {
        Appended::Refused(row) => assert_eq!((row.state, row.last_seq), (Assistant, 1)),
        other => panic!("expected refused, got {other:?}"),
    }
    // Something was appended since seq 0: a decision made then is stale.
    let stale = store
        .append(
            id,
            Guard::ANY.unchanged_since(0),
            Transition::Keep,
            &[visitor("b", "late")],
            HandoffWrite::None,
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(stale, Appended::Refused(_)), "{stale:?}");
    // Held by someone else.
    hand_off(&store, id, Vec::new()).await;
    stored(claim(&store, id, mia, NOW).await);
    let leo = agent(&store, "leo@example.com").await;
    let refused = store
        .append(
            id,
            Guard::held_by(&[Human], leo),
            Transition::Keep,
            &[agent_says("x", "not mine")],
            HandoffWrite::HumanReplied,
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(refused, Appended::Refused(_)), "{refused:?}");
    let log = store.events_after(id, 0).await.unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    let row = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(row.agent.map(|a| a.id), Some(mia));
}

async fn concurrent_claims_have_exactly_one_winner(store: Store) {
    let id = conversation(&store).await;
    hand_off(&store, id, Vec::new()).await;
    let mut agents = Vec::new();
    for n in 0..8 {
        agents.push(agent(&store, &format!("agent{n}@example.com")).await);
    }
    let claims = agents.iter().map(|&a| {
        let store = store.clone();
        tokio::spawn(async move { (a, claim(&store, id, a, NOW).await) })
    });
    let mut winners = Vec::new();
    for claim in claims {
        let (agent, result) = claim.await.unwrap();
        match result {
            Appended::Stored(_) => winners.push(agent),
            Appended::Refused(row) => assert_eq!(row.state, Human),
            Appended::Duplicate(_) | Appended::ClientIdTaken => panic!("no client id here"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let row = store.conversation(id).await.unwrap().unwrap();
    assert_eq!(row.agent.map(|a| a.id), Some(winners[0]));
    let joined = store
        .events_after(id, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.body, EventBody::AgentJoined { .. }))
        .count();
    assert_eq!(joined, 1);
}

async fn concurrent_writers_never_share_or_skip_a_seq(store: Store) {
    let id = conversation(&store).await;
    let writers = (0..8).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for m in 0..10 {
                let body = visitor(&format!("w{w}-{m}"), "text");
                stored(say(&store, id, body).await);
            }
        })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    let log = store.events_after(id, 0).await.unwrap();
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
    let ids: BTreeSet<_> = log.iter().filter_map(|e| e.body.client_id()).collect();
    assert_eq!(ids.len(), 80);
}

async fn a_handoff_is_recorded_from_start_to_rating(store: Store) {
    let id = conversation(&store).await;
    say(&store, id, visitor("a", "I want a refund")).await;
    let started = hand_off(&store, id, Vec::new()).await;

    let queue = store.queue().await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].conversation, queue[0].state), (id, Queued));
    assert_eq!(queue[0].intent, "refund for order 1234");
    assert!(!queue[0].out_of_hours);
    assert_eq!(store.queue_lengths().await.unwrap(), (1, 0));

    let mia = agent(&store, "mia@example.com").await;
    stored(claim(&store, id, mia, NOW + 1_000).await);
    assert_eq!(store.queue_lengths().await.unwrap(), (0, 1));
    let reply = stored(
        store
            .append(
                id,
                Guard::held_by(&[Human], mia),
                Transition::Keep,
                &[agent_says("r1", "Let me check")],
                HandoffWrite::HumanReplied,
                NOW + 5_000,
            )
            .await
            .unwrap(),
    );
    assert_eq!(
        store.first_reply_latency(id, reply[0].seq).await.unwrap(),
        Some(5_000)
    );
    // Only the first reply after the handoff counts.
    let second = stored(
        store
            .append(
                id,
                Guard::held_by(&[Human], mia),
                Transition::Keep,
                &[agent_says("r2", "Done")],
                HandoffWrite::HumanReplied,
                NOW + 9_000,
            )
            .await
            .unwrap(),
    );
    assert_eq!(
        store.first_reply_latency(id, second[0].seq).await.unwrap(),
        None
    );

    let mut better = store.latest_brief(id).await.unwrap().unwrap();
    better.next_step = "refund it".into();
    assert!(store.update_brief(id, started, &better).await.unwrap());
    assert!(
        !store
            .update_brief(id, started + 100, &better)
            .await
            .unwrap()
    );
    assert_eq!(
        store.latest_brief(id).await.unwrap().unwrap().next_step,
        "refund it"
    );

    stored(
        store
            .append(
                id,
                Guard::held_by(&[Human], mia),
                Transition::To(Closed, None),
                &[EventBody::Closed],
                HandoffWrite::Ended {
                    outcome: "resolved_by_human",
                    abandoned_after: 60_000,
                },
                NOW + 10_000,
            )
            .await
            .unwrap(),
    );
    let rate = |comment: Option<&str>| HandoffWrite::Rated {
        rating: Rating::Good,
        comment: comment.map(Into::into),
    };
    let rated = store
        .append(
            id,
            Guard::ANY,
            Transition::Keep,
            &[EventBody::Rated {
                client_id: "rate".into(),
                rating: Rating::Good,
                comment: Some("quick".into()),
            }],
            rate(Some("quick")),
            NOW + 11_000,
        )
        .await
        .unwrap();
    stored(rated);
    let again = store
        .append(
            id,
            Guard::ANY,
            Transition::Keep,
            &[EventBody::Rated {
                client_id: "rate2".into(),
                rating: Rating::Bad,
                comment: None,
            }],
            rate(None),
            NOW + 12_000,
        )
        .await
        .unwrap();
    assert!(
        matches!(again, Appended::Refused(_)),
        "rated twice: {again:?}"
    );

    assert!(
        store
            .set_verdict(id, Verdict::HandoffRight, mia, NOW)
            .await
            .unwrap()
    );
    assert_eq!(
        store.latest_verdict(id).await.unwrap(),
        Some(Verdict::HandoffRight)
    );
    let rows = store.handoffs_between(NOW - 1, NOW + 1).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.conversation, id);
    assert_eq!(row.mechanism, Mechanism::Confidence);
    assert_eq!((row.confidence, row.threshold), (Some(0.42), Some(0.8)));
    assert_eq!(row.first_human_reply_at, Some(NOW + 5_000));
    assert_eq!(row.ended_at, Some(NOW + 10_000));
    assert_eq!(row.outcome.as_deref(), Some("resolved_by_human"));
    assert_eq!(row.csat.as_deref(), Some("good"));
    assert_eq!(row.verdict, Some(Verdict::HandoffRight));
    assert!(
        store
            .handoffs_between(NOW + 1, NOW + 2)
            .await
            .unwrap()
            .is_empty()
    );
    let export = store.handoffs_for_export(0, i64::MAX).await.unwrap();
    assert_eq!(
        (export[0].seq, export[0].turn, export[0].previous_seq),
        (started, 1, None)
    );
    assert_eq!(export[0].brief.next_step, "refund it");
    assert!(store.queue().await.unwrap().is_empty());
}

async fn a_resume_link_works_once(store: Store) {
    let id = conversation(&store).await;
    hand_off(&store, id, vec![("http://hooks.example/a".into(), "json")]).await;
    let due = store.take_due_notifications(NOW, 60_000, 10).await.unwrap();
    let facts = store.handoff_facts(due[0].handoff).await.unwrap().unwrap();
    assert_eq!((facts.conversation, facts.ended), (id, false));
    assert_eq!(facts.resume_nonce.as_deref(), Some("nonce-1"));
    let resume = |nonce: &str| HandoffWrite::EndedByLink {
        handoff: due[0].handoff,
        nonce: nonce.into(),
        abandoned_after: 60_000,
    };
    let body = [EventBody::AssistantResumed {
        name: "Nova".into(),
    }];
    let guard = Guard::in_states(&[Queued, Human]);
    let to = Transition::To(Assistant, None);
    let wrong = store
        .append(id, guard, to, &body, resume("guess"), NOW)
        .await
        .unwrap();
    assert!(matches!(wrong, Appended::Refused(_)), "{wrong:?}");
    stored(
        store
            .append(id, guard, to, &body, resume("nonce-1"), NOW)
            .await
            .unwrap(),
    );
    let facts = store.handoff_facts(due[0].handoff).await.unwrap().unwrap();
    assert_eq!((facts.resume_nonce, facts.ended), (None, true));
    let row = &store.handoffs_between(0, i64::MAX).await.unwrap()[0];
    assert_eq!(row.outcome.as_deref(), Some("returned_to_assistant"));
}

async fn notifications_are_taken_once_and_retried(store: Store) {
    for _ in 0..6 {
        let id = conversation(&store).await;
        hand_off(
            &store,
            id,
            vec![
                ("http://hooks.example/slack".into(), "slack"),
                ("http://hooks.example/json".into(), "json"),
            ],
        )
        .await;
    }
    // Two nodes take at once: together they get each notification once.
    let takers = (0..2).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_due_notifications(NOW, 60_000, 50).await.unwrap() })
    });
    let mut taken = Vec::new();
    for taker in takers {
        taken.extend(taker.await.unwrap().into_iter().map(|d| d.id));
    }
    taken.sort();
    let distinct: BTreeSet<_> = taken.iter().collect();
    assert_eq!((taken.len(), distinct.len()), (12, 12), "{taken:?}");
    // Leased: nothing is due again until the lease runs out.
    assert!(
        store
            .take_due_notifications(NOW + 1, 60_000, 50)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_notification_at(NOW).await.unwrap(),
        Some(NOW + 60_000)
    );

    let (first, second) = (taken[0], taken[1]);
    store.notification_delivered(first, NOW + 10).await.unwrap();
    store
        .notification_failed(second, NOW + 500, "HTTP 500")
        .await
        .unwrap();
    let retried = store
        .take_due_notifications(NOW + 500, 60_000, 50)
        .await
        .unwrap();
    assert_eq!(
        retried
            .iter()
            .map(|d| (d.id, d.attempts))
            .collect::<Vec<_>>(),
        [(second, 1)]
    );
    let after_lease = store
        .take_due_notifications(NOW + 60_001, 60_000, 50)
        .await
        .unwrap();
    assert_eq!(
        after_lease.len(),
        10,
        "the rest come back; the delivered one does not"
    );
    assert!(after_lease.iter().all(|d| d.id != first));
    // Past their expiry nothing is due.
    assert!(
        store
            .take_due_notifications(NOW + 7_200_000, 60_000, 50)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn agents_sessions_and_settings(store: Store) {
    let mia = store
        .add_agent("mia@example.com", "Mia", "hash-1", NOW)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .add_agent("mia@example.com", "Other", "hash-2", NOW)
            .await
            .unwrap()
            .is_none()
    );
    let leo = store
        .add_agent("leo@example.com", "Leo", "hash-3", NOW)
        .await
        .unwrap()
        .unwrap();
    let (found, hash) = store
        .agent_credentials("mia@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, hash.as_str()), (mia.clone(), "hash-1"));
    assert!(
        store
            .agent_credentials("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.agents().await.unwrap(), vec![leo, mia.clone()]);

    let token = baton::secret::digest("cookie");
    store
        .create_session(&token, mia.id, NOW + 1_000)
        .await
        .unwrap();
    assert_eq!(store.session_agent(&token, NOW).await.unwrap(), Some(mia));
    assert_eq!(
        store.session_agent(&token, NOW + 1_000).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store
            .session_agent(&baton::secret::digest("other"), NOW)
            .await
            .unwrap(),
        None
    );
    store.delete_session(&token).await.unwrap();
    assert_eq!(store.session_agent(&token, NOW).await.unwrap(), None);

    assert_eq!(
        store.setting_or_insert("secret", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.setting_or_insert("secret", "second").await.unwrap(),
        "first"
    );
}

async fn a_visitor_who_left_makes_the_handoff_abandoned(store: Store) {
    let end = |store: Store, id: i64, at: i64| async move {
        stored(
            store
                .append(
                    id,
                    Guard::in_states(&[Queued]),
                    Transition::To(Assistant, None),
                    &[EventBody::AssistantResumed {
                        name: "Nova".into(),
                    }],
                    HandoffWrite::Ended {
                        outcome: "returned_to_assistant",
                        abandoned_after: 60_000,
                    },
                    at,
                )
                .await
                .unwrap(),
        );
    };
    // Still here (one of two tabs closed): not abandoned.
    let here = conversation(&store).await;
    store.visitor_arrived(here).await.unwrap();
    store.visitor_arrived(here).await.unwrap();
    store.visitor_departed(here, NOW).await.unwrap();
    hand_off(&store, here, Vec::new()).await;
    end(store.clone(), here, NOW + 120_000).await;
    // Gone for two minutes before anyone answered: abandoned.
    let gone = conversation(&store).await;
    store.visitor_arrived(gone).await.unwrap();
    hand_off(&store, gone, Vec::new()).await;
    store.visitor_departed(gone, NOW).await.unwrap();
    store.visitor_departed(gone, NOW).await.unwrap(); // never below zero
    end(store.clone(), gone, NOW + 120_000).await;
    // Gone only briefly: not abandoned.
    let brief = conversation(&store).await;
    store.visitor_arrived(brief).await.unwrap();
    hand_off(&store, brief, Vec::new()).await;
    store.visitor_departed(brief, NOW + 100_000).await.unwrap();
    end(store.clone(), brief, NOW + 120_000).await;

    let outcomes: Vec<_> = store
        .handoffs_between(0, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.conversation, h.outcome.unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (here, "returned_to_assistant".to_string()),
            (gone, "abandoned".to_string()),
            (brief, "returned_to_assistant".to_string()),
        ]
    );
}

async fn read_receipts_never_move_back_or_past_the_end(store: Store) {
    let id = conversation(&store).await;
    for n in 0..3 {
        say(&store, id, visitor(&format!("m{n}"), "x")).await;
    }
    assert_eq!(store.mark_read(id, 2).await.unwrap(), 2);
    assert_eq!(store.mark_read(id, 1).await.unwrap(), 2, "never back");
    assert_eq!(
        store.mark_read(id, 99).await.unwrap(),
        3,
        "never past the end"
    );
    assert_eq!(
        store.conversation(id).await.unwrap().unwrap().visitor_read,
        3
    );
}

async fn handoffs_with_and_without_a_confidence_are_both_kept(store: Store) {
    // Alternating: a statement prepared for one must take the other.
    for confidence in [None, Some(0.5), None, Some(0.25)] {
        let id = conversation(&store).await;
        stored(
            store
                .append(
                    id,
                    Guard::in_states(&[Assistant]),
                    Transition::To(Queued, None),
                    &[EventBody::HandoffStarted { notice: "n".into() }],
                    handoff_with(confidence, Vec::new()),
                    NOW,
                )
                .await
                .unwrap(),
        );
    }
    let kept: Vec<_> = store
        .handoffs_between(0, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.confidence, h.threshold))
        .collect();
    assert_eq!(
        kept,
        [
            (None, None),
            (Some(0.5), Some(0.8)),
            (None, None),
            (Some(0.25), Some(0.8))
        ]
    );
}

async fn lessons_are_kept_once_and_read_in_order(store: Store) {
    assert_eq!(store.lessons().await.unwrap(), (Vec::new(), 0));
    let (first, second) = (conversation(&store).await, conversation(&store).await);
    let mia = agent(&store, "mia@example.com").await;
    let lesson = |conversation, article, phrasing, answer| NewLesson {
        conversation,
        agent: mia,
        article,
        phrasing,
        answer,
        at: NOW,
    };
    let taught = |l| {
        let store = store.clone();
        async move { store.teach(l).await.unwrap() }
    };
    assert_eq!(
        taught(lesson(first, "Returns", "can I send them back", None)).await,
        Taught::New
    );
    // The same wording for the same article: nothing new.
    assert_eq!(
        taught(lesson(second, "Returns", "can I send them back", None)).await,
        Taught::Known
    );
    // The same wording for another article is another lesson.
    assert_eq!(
        taught(lesson(
            second,
            "Gift cards",
            "can I send them back",
            Some("Gift cards are final.")
        ))
        .await,
        Taught::New
    );
    let (lessons, newest) = store.lessons().await.unwrap();
    assert!(newest > 0);
    let read: Vec<_> = lessons
        .iter()
        .map(|l| {
            (
                l.article.as_str(),
                l.answer.as_deref(),
                l.by.id,
                l.by.name.as_str(),
                l.at,
            )
        })
        .collect();
    assert_eq!(
        read,
        [
            ("Returns", None, mia, "mia@example.com", NOW),
            (
                "Gift cards",
                Some("Gift cards are final."),
                mia,
                "mia@example.com",
                NOW
            )
        ]
    );
    let of = |id| {
        let store = store.clone();
        async move { store.lessons_of(id).await.unwrap() }
    };
    assert_eq!(of(first).await, lessons[..1]);
    assert_eq!(of(second).await, lessons[1..]);
    taught(lesson(first, "Returns", "return window?", None)).await;
    let (_, newer) = store.lessons().await.unwrap();
    assert!(newer > newest, "a later lesson has a later id");
}
