//! Handoff records, analytics, `/metrics` and the feedback loop over real
//! sockets: a scripted day of conversations (every mechanism; claims,
//! replies, hand-backs, closes, ratings, verdicts; a visitor who leaves)
//! gives exact numbers in `GET /api/analytics/handoffs` and `/metrics`;
//! `baton export` turns the judged handoffs into cases that `baton eval`
//! runs unchanged, and a changed policy shows which cases it changes.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use baton::config::{Webhook, WebhookFormat};
use baton_shared::analytics::*;
use baton_shared::*;
use support::*;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");

type Visitor = Client<VisitorRequest, VisitorUpdate>;
type Agent = Client<AgentRequest, AgentUpdate>;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A webhook nobody listens on: every delivery attempt fails.
fn dead_webhook() -> Webhook {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Webhook {
        url: format!("http://127.0.0.1:{port}/hook"),
        format: WebhookFormat::Json,
        secret: None,
    }
}

fn config() -> baton::Config {
    let mut config = baton::Config {
        demo: true,
        ..baton::Config::default()
    };
    // Gone is gone: no grace period, so the test needs no waiting.
    config.analytics.abandoned_after_secs = 0;
    config.notifications.webhooks = vec![dead_webhook()];
    config.notifications.retry_initial_ms = 50;
    config.notifications.retry_max_ms = 200;
    // One console does a whole day's work as fast as the server answers.
    config.limits.frames_per_second = 0;
    config
}

/// The agent side of the script: Mia, watching every conversation she
/// touches.
struct Desk {
    agent: Agent,
    seen: Vec<ConversationId>,
}

impl Desk {
    /// The conversation that just reached the queue, and its detail.
    async fn handed_off(&mut self) -> ConversationDetail {
        let seen = self.seen.clone();
        let id = self
            .agent
            .until(|u| match u {
                AgentUpdate::Queue { entries } => entries
                    .iter()
                    .map(|e| e.conversation)
                    .find(|c| !seen.contains(c)),
                _ => None,
            })
            .await;
        self.seen.push(id);
        self.agent
            .send(&AgentRequest::Watch {
                conversation: id,
                last_seq: 0,
            })
            .await;
        self.detail_where(id, |_| true).await
    }

    async fn detail_where(
        &mut self,
        id: ConversationId,
        ok: impl Fn(&ConversationDetail) -> bool,
    ) -> ConversationDetail {
        self.agent
            .until(|u| match u {
                AgentUpdate::Conversation { detail } if detail.id == id && ok(&detail) => {
                    Some(detail)
                }
                AgentUpdate::Error { message, .. } => panic!("conversation {id}: {message}"),
                _ => None,
            })
            .await
    }

    async fn claim(&mut self, id: ConversationId) {
        self.agent
            .send(&AgentRequest::Claim { conversation: id })
            .await;
        self.detail_where(id, |d| d.state == ConversationState::Human)
            .await;
    }

    async fn reply(&mut self, id: ConversationId, text: &str) {
        let client_id = format!("reply-{id}");
        self.agent
            .send(&AgentRequest::Reply {
                conversation: id,
                client_id: client_id.clone(),
                text: text.into(),
            })
            .await;
        self.agent
            .until(|u| match u {
                AgentUpdate::Ack { client_id: c, .. } if c == client_id => Some(()),
                AgentUpdate::Error { message, .. } => panic!("reply: {message}"),
                _ => None,
            })
            .await;
    }

    async fn resume(&mut self, id: ConversationId) {
        self.agent
            .send(&AgentRequest::Resume { conversation: id })
            .await;
        self.detail_where(id, |d| d.state == ConversationState::Assistant)
            .await;
    }

    async fn close(&mut self, id: ConversationId) {
        self.agent
            .send(&AgentRequest::Close { conversation: id })
            .await;
        self.detail_where(id, |d| d.state == ConversationState::Closed)
            .await;
    }

    async fn verdict(&mut self, id: ConversationId, verdict: Verdict) {
        self.agent
            .send(&AgentRequest::Verdict {
                conversation: id,
                verdict,
            })
            .await;
        // Watching consoles see it.
        self.detail_where(id, |d| d.verdict == Some(verdict)).await;
    }
}

async fn visitor(server: &TestServer) -> Visitor {
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor
}

/// Says something that hands the conversation off; if the assistant
/// asks which article was meant first, none of them.
async fn escalate(visitor: &mut Visitor, text: &str) {
    visitor.say("m", text).await;
    let next = visitor
        .event_where(|b| {
            matches!(b, EventBody::HandoffStarted { .. })
                || matches!(b, EventBody::Assistant { choices, .. } if !choices.is_empty())
        })
        .await;
    if matches!(next.body, EventBody::Assistant { .. }) {
        visitor.press_human().await;
    }
}

async fn rate(visitor: &mut Visitor, rating: Rating) {
    visitor
        .event_where(|b| matches!(b, EventBody::Closed))
        .await;
    visitor
        .send(&VisitorRequest::Rate {
            client_id: "rating".into(),
            rating,
            comment: None,
        })
        .await;
    visitor
        .until(|u| match u {
            VisitorUpdate::Ack { client_id, .. } if client_id == "rating" => Some(()),
            VisitorUpdate::Error { message, .. } => panic!("rating: {message}"),
            _ => None,
        })
        .await;
}

async fn get(url: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

/// `/metrics`, checked for the text format as it is read: HELP and TYPE
/// before each family, samples only of announced families, histogram
/// buckets cumulative and ending in `+Inf` = `_count`. Returns every
/// sample by its series (`name{labels}`).
async fn scrape(server: &TestServer) -> BTreeMap<String, f64> {
    let response = get(&format!("http://{}/metrics", server.addr), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let mut samples = BTreeMap::new();
    let mut family: Option<(String, String)> = None;
    let mut helped = None;
    let mut last_bucket = 0.0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped = Some(rest.split(' ').next().unwrap().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(helped.as_deref(), Some(name), "HELP before TYPE for {name}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} ends in _total");
            }
            family = Some((name.to_string(), kind.to_string()));
            last_bucket = 0.0;
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let (name, kind) = family.as_ref().expect("a TYPE before samples");
        let base = series.split('{').next().unwrap();
        if kind == "histogram" {
            let suffix = base.strip_prefix(name.as_str()).unwrap();
            assert!(["_bucket", "_sum", "_count"].contains(&suffix), "{line}");
            if suffix == "_bucket" {
                assert!(value >= last_bucket, "buckets are cumulative: {line}");
                last_bucket = value;
            }
            if suffix == "_count" {
                assert_eq!(
                    samples[&format!("{name}_bucket{{le=\"+Inf\"}}")],
                    value,
                    "+Inf is the count"
                );
            }
        } else {
            assert_eq!(base, name, "{line} belongs to {name}");
        }
        if let Some(labels) = series.strip_prefix(base) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "{series} twice"
        );
    }
    samples
}

/// Waits until the server counts `n` open widget sockets (a departure is
/// stored before it stops counting the socket).
async fn visitors_connected(server: &TestServer, n: f64) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let now = scrape(server).await["baton_connections{side=\"visitor\"}"];
        if now == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{now} widget sockets, expected {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn a_scripted_day_gives_exact_analytics_metrics_and_cases_that_round_trip() {
    let server = TestServer::start_with(config()).await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut desk = Desk {
        agent: server.agent(&cookie).await,
        seen: Vec::new(),
    };
    desk.agent.queue().await;
    let mut connected = Vec::new();

    // A: the assistant is not confident; Mia hands it back without a word
    // and says the assistant could have answered.
    let mut a = visitor(&server).await;
    escalate(&mut a, "Do you accept Bitcoin?").await;
    let a_detail = desk.handed_off().await;
    let a_id = a_detail.id;
    desk.resume(a_id).await;
    desk.verdict(a_id, Verdict::HandoffRight).await;
    // Changing one's mind: the latest verdict counts.
    desk.verdict(a_id, Verdict::AssistantCouldHaveAnswered)
        .await;
    connected.push(a);

    // B: a legal threat; Mia claims, replies, closes; a good rating; right.
    let mut b = visitor(&server).await;
    escalate(&mut b, "If this isn't fixed I'll get my lawyer involved.").await;
    let b_id = desk.handed_off().await.id;
    desk.claim(b_id).await;
    desk.reply(b_id, "I'm sorry — let me sort this out.").await;
    desk.close(b_id).await;
    rate(&mut b, Rating::Good).await;
    desk.verdict(b_id, Verdict::HandoffRight).await;
    connected.push(b);

    // C: an answered question, then the button; Mia replies, the visitor
    // leaves afterwards, Mia hands back (the reply reached the visitor:
    // not abandoned); right.
    let mut c = visitor(&server).await;
    c.ask("c1", "Can I pay with PayPal?").await;
    c.press_human().await;
    let c_id = desk.handed_off().await.id;
    desk.claim(c_id).await;
    desk.reply(c_id, "Hi, Mia here. How can I help?").await;
    c.event_where(|b| matches!(b, EventBody::Agent { .. }))
        .await;
    drop(c);
    visitors_connected(&server, connected.len() as f64).await;
    desk.resume(c_id).await;
    desk.verdict(c_id, Verdict::HandoffRight).await;

    // D: a complaint, and the visitor leaves before anyone replies: Mia's
    // close finds them gone — abandoned.
    let mut d = visitor(&server).await;
    escalate(
        &mut d,
        "I want to file a complaint about the delivery driver.",
    )
    .await;
    let d_id = desk.handed_off().await.id;
    drop(d);
    visitors_connected(&server, connected.len() as f64).await;
    desk.close(d_id).await;

    // E: off topic, still waiting.
    let mut e = visitor(&server).await;
    escalate(&mut e, "What's the weather like in Lisbon tomorrow?").await;
    desk.handed_off().await;
    connected.push(e);

    // F: a complaint handled by Mia and rated bad.
    let mut f = visitor(&server).await;
    escalate(&mut f, "I want to complain about the packaging.").await;
    let f_id = desk.handed_off().await.id;
    desk.claim(f_id).await;
    desk.reply(f_id, "Sorry about that.").await;
    desk.close(f_id).await;
    rate(&mut f, Rating::Bad).await;
    connected.push(f);

    // G: not confident again, handed back unanswered.
    let mut g = visitor(&server).await;
    escalate(&mut g, "Is there a two-year warranty on the soles?").await;
    let g_id = desk.handed_off().await.id;
    desk.resume(g_id).await;
    connected.push(g);

    // H: a billing dispute, handed back unanswered.
    let mut h = visitor(&server).await;
    escalate(&mut h, "I was charged twice for my order").await;
    let h_id = desk.handed_off().await.id;
    desk.resume(h_id).await;
    connected.push(h);

    // A verdict needs a handoff, and a conversation.
    let mut z = visitor(&server).await;
    z.ask("z1", "How long does shipping take?").await;
    connected.push(z);
    desk.agent
        .send(&AgentRequest::Verdict {
            conversation: 9_999,
            verdict: Verdict::HandoffRight,
        })
        .await;
    assert_eq!(desk.agent.error().await.0, ErrorCode::NotFound);
    let z_conversation = desk.seen.iter().max().unwrap() + 1; // the newest
    desk.agent
        .send(&AgentRequest::Verdict {
            conversation: z_conversation,
            verdict: Verdict::HandoffRight,
        })
        .await;
    let (code, message) = desk.agent.error().await;
    assert_eq!(code, ErrorCode::Conflict, "{message}");
    assert!(message.contains("no handoff"), "{message}");

    // What the store recorded, to check the numbers against.
    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let rows = store.handoffs_between(0, i64::MAX).await.unwrap();
    assert_eq!(rows.len(), 8);
    let by_conversation: BTreeMap<ConversationId, &baton::store::HandoffRow> =
        rows.iter().map(|r| (r.conversation, r)).collect();
    let outcome = |id: ConversationId| by_conversation[&id].outcome.clone();
    assert_eq!(outcome(a_id).as_deref(), Some("returned_to_assistant"));
    assert_eq!(outcome(b_id).as_deref(), Some("resolved_by_human"));
    assert_eq!(
        outcome(c_id).as_deref(),
        Some("returned_to_assistant"),
        "the visitor left after the reply"
    );
    assert_eq!(outcome(d_id).as_deref(), Some("abandoned"));
    let mut latencies: Vec<i64> = rows
        .iter()
        .filter_map(|r| Some(r.first_human_reply_at? - r.created_at))
        .collect();
    latencies.sort();
    assert_eq!(latencies.len(), 3);
    let days: BTreeMap<String, (u64, u64, u64)> =
        rows.iter().fold(BTreeMap::new(), |mut days, r| {
            let day = jiff::Timestamp::from_millisecond(r.created_at)
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::UTC)
                .date()
                .to_string();
            let entry = days.entry(day).or_default();
            match r.mechanism {
                Mechanism::User => entry.0 += 1,
                Mechanism::Rule => entry.1 += 1,
                Mechanism::Confidence => entry.2 += 1,
            }
            days
        });

    // The API: agents only, dates validated.
    let base = format!("http://{}/api/analytics/handoffs", server.addr);
    assert_eq!(get(&base, None).await.status(), 401);
    for (query, says) in [
        (
            "?from=2026-13-01",
            "from: \"2026-13-01\" is not a date (YYYY-MM-DD)",
        ),
        (
            "?to=21.11.2026",
            "to: \"21.11.2026\" is not a date (YYYY-MM-DD)",
        ),
        (
            "?from=2026-11-21&to=2026-11-20",
            "from (2026-11-21) is after to (2026-11-20)",
        ),
        ("?from=2020-01-01&to=2026-01-01", "ask for at most 366"),
    ] {
        let response = get(&format!("{base}{query}"), Some(&cookie)).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(says), "{query}: {error}");
    }

    let today = baton::analytics::today();
    let yesterday = today.yesterday().unwrap();
    let response = get(
        &format!("{base}?from={yesterday}&to={today}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(response.status(), 200);
    let got: HandoffAnalytics = response.json().await.unwrap();

    let a_confidence = f64::from(a_detail.brief.as_ref().unwrap().confidence.unwrap());
    let mut buckets = [0u64; 10];
    buckets[(a_confidence * 10.0).floor() as usize] += 1;
    buckets[0] += 2; // weather and warranty: nothing in the knowledge base
    let expected = HandoffAnalytics {
        from: yesterday.to_string(),
        to: today.to_string(),
        total: 8,
        by_mechanism: MechanismCounts {
            user: 1,
            rule: 4,
            confidence: 3,
        },
        per_day: [yesterday, today]
            .iter()
            .map(|day| {
                let (user, rule, confidence) =
                    days.get(&day.to_string()).copied().unwrap_or_default();
                DayCounts {
                    day: day.to_string(),
                    handoffs: MechanismCounts {
                        user,
                        rule,
                        confidence,
                    },
                }
            })
            .collect(),
        top_rules: vec![
            RuleCount {
                rule: "complaint".into(),
                handoffs: 2,
            },
            RuleCount {
                rule: "billing_dispute".into(),
                handoffs: 1,
            },
            RuleCount {
                rule: "legal_threat".into(),
                handoffs: 1,
            },
        ],
        confidence: ConfidenceHistogram {
            buckets: (0..10)
                .map(|i| ConfidenceBucket {
                    from: f64::from(i) / 10.0,
                    to: f64::from(i + 1) / 10.0,
                    handoffs: buckets[i as usize],
                })
                .collect(),
            handoffs: 3,
            threshold: Some(0.8),
        },
        first_reply: FirstReply {
            replied: 3,
            median_ms: Some(latencies[1]),
        },
        outcomes: OutcomeCounts {
            resolved_by_human: 2,
            returned_to_assistant: 4,
            abandoned: 1,
            superseded: 0,
            open: 1,
        },
        too_aggressive: vec![
            AggressiveRule {
                mechanism: Mechanism::Confidence,
                rule: None,
                handoffs: 3,
                returned_without_reply: 2,
            },
            AggressiveRule {
                mechanism: Mechanism::Rule,
                rule: Some("billing_dispute".into()),
                handoffs: 1,
                returned_without_reply: 1,
            },
        ],
        csat: CsatCounts { good: 1, bad: 1 },
        verdicts: VerdictCounts {
            handoff_right: 2,
            assistant_could_have_answered: 1,
            none: 5,
        },
        // A is the one judged low-confidence handoff ("could have
        // answered"): handed off at every threshold above its confidence.
        threshold_curve: (0..10u32)
            .map(|i| ThresholdPoint {
                threshold: f64::from(500 + 50 * i) / 1000.0,
                false_handoffs: u64::from(((a_confidence * 1000.0).round() as u32) < 500 + 50 * i),
                missed_handoffs: 0,
            })
            .collect(),
    };
    assert_eq!(got, expected);

    // Without a range: the last 30 days, today last.
    let got: HandoffAnalytics = get(&base, Some(&cookie)).await.json().await.unwrap();
    assert_eq!(got.per_day.len(), 30);
    assert_eq!(got.to, today.to_string());
    assert_eq!(got.total, 8);
    // A range before any of it is empty, not an error.
    let got: HandoffAnalytics = get(
        &format!("{base}?from=2020-01-01&to=2020-01-02"),
        Some(&cookie),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!((got.total, got.first_reply.median_ms), (0, None));

    // /metrics counts the same day.
    let samples = scrape(&server).await;
    let expect = [
        (
            "baton_connections{side=\"visitor\"}",
            connected.len() as f64,
        ),
        ("baton_connections{side=\"agent\"}", 1.0),
        ("baton_messages_total{author=\"visitor\"}", 9.0),
        // Two answers and A's clarifying question.
        ("baton_messages_total{author=\"assistant\"}", 3.0),
        ("baton_messages_total{author=\"agent\"}", 3.0),
        ("baton_handoffs_total{mechanism=\"user\"}", 1.0),
        ("baton_handoffs_total{mechanism=\"rule\"}", 4.0),
        ("baton_handoffs_total{mechanism=\"confidence\"}", 3.0),
        ("baton_queue_length{state=\"queued\"}", 1.0),
        ("baton_queue_length{state=\"human\"}", 0.0),
        ("baton_time_to_human_seconds_count", 3.0),
    ];
    for (series, value) in expect {
        assert_eq!(samples.get(series), Some(&value), "{series}");
    }
    let sum: f64 = latencies.iter().sum::<i64>() as f64 / 1000.0;
    assert!(
        (samples["baton_time_to_human_seconds_sum"] - sum).abs() < 0.001,
        "{samples:?}"
    );
    let within_5s = latencies.iter().filter(|&&ms| ms <= 5_000).count() as f64;
    assert_eq!(
        samples["baton_time_to_human_seconds_bucket{le=\"5\"}"],
        within_5s
    );
    // The dead webhook: its failures are counted as they happen.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while scrape(&server).await["baton_webhook_failures_total"] < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no webhook failure counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Export → eval: the judged handoffs become cases, in the documented
    // format, with the expectation Mia confirmed.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("baton.toml");
    std::fs::write(
        &cfg,
        format!("database_url = \"{}\"\n", server.database_url),
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let since = yesterday.to_string();
    let exported = baton(&["export", "--since", &since, "--config", cfg]);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    assert!(
        text(&exported.stderr).contains("exported 3 cases; 5 handoffs nobody judged were left out"),
        "{}",
        text(&exported.stderr)
    );
    let handoff = |id: ConversationId| format!("handoff-{}", by_conversation[&id].id);
    let at = |id: ConversationId| {
        let created = by_conversation[&id].created_at;
        let t = jiff::Timestamp::from_second(created.div_euclid(1000)).unwrap();
        t.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    assert_eq!(
        lines(&exported),
        [
            serde_json::json!({"id": handoff(a_id), "at": at(a_id),
                "turns": [{"text": "Do you accept Bitcoin?"}],
                "expect": {"handoff": false}}),
            serde_json::json!({"id": handoff(b_id), "at": at(b_id),
                "turns": [{"text": "If this isn't fixed I'll get my lawyer involved."}],
                "expect": {"handoff": true, "mechanism": "rule", "turn": 1}}),
            serde_json::json!({"id": handoff(c_id), "at": at(c_id),
                "turns": [{"text": "Can I pay with PayPal?"}, {"action": "request_human"}],
                "expect": {"handoff": true, "mechanism": "user", "turn": 2}}),
        ]
    );
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&cases, &exported.stdout).unwrap();
    let cases = cases.to_str().unwrap();
    let kb = repo("eval/kb-shop.md");
    let kb = kb.to_str().unwrap();

    // The current policy keeps handing A off: exactly that case fails.
    let checked = baton(&["eval", "--kb", kb, cases, "--check"]);
    assert!(!checked.status.success());
    assert!(
        text(&checked.stderr).contains(&format!("1 of 3 cases failed: {}", handoff(a_id))),
        "{}",
        text(&checked.stderr)
    );
    let results = lines(&checked);
    assert_eq!(results[1]["mechanism"], "rule");
    assert_eq!(
        (
            results[2]["mechanism"].as_str(),
            results[2]["turn"].as_u64()
        ),
        (Some("user"), Some(2))
    );

    // A lower threshold lets the assistant answer A: everything passes, and
    // the comparison with the current policy names the one change.
    let new = dir.path().join("new.toml");
    std::fs::write(&new, "[policy]\nconfidence_threshold = 0.6\n").unwrap();
    let new = new.to_str().unwrap();
    let current = dir.path().join("current.toml");
    std::fs::write(&current, "[policy]\nconfidence_threshold = 0.8\n").unwrap();
    let current = current.to_str().unwrap();
    for baseline in [None, Some(current)] {
        let mut args = vec!["eval", "--config", new, cases, "--check"];
        if let Some(baseline) = baseline {
            args.extend(["--baseline", baseline]);
        }
        let compared = baton(&args);
        let stderr = text(&compared.stderr);
        assert!(compared.status.success(), "{stderr}");
        assert!(
            stderr.contains("1 of 3 cases decided differently"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "{}: handoff (confidence, turn 1) → no handoff (now passes)",
                handoff(a_id)
            )),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 2, "{stderr}");
    }

    // Every handoff, judged or not, replays to what happened live: only A,
    // which Mia said should not have been handed off, fails.
    let everything = baton(&["export", "--since", &since, "--unreviewed", "--config", cfg]);
    assert_eq!(lines(&everything).len(), 8, "{}", text(&everything.stderr));
    let all = dir.path().join("all.jsonl");
    std::fs::write(&all, &everything.stdout).unwrap();
    let checked = baton(&["eval", "--kb", kb, all.to_str().unwrap(), "--check"]);
    assert!(
        text(&checked.stderr).contains(&format!("1 of 8 cases failed: {}", handoff(a_id))),
        "{}",
        text(&checked.stderr)
    );

    // Filters: by outcome, and by day.
    let abandoned = baton(&[
        "export",
        "--since",
        &since,
        "--unreviewed",
        "--outcome",
        "abandoned",
        "--config",
        cfg,
    ]);
    let abandoned = lines(&abandoned);
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0]["id"], handoff(d_id));
    let tomorrow = today.tomorrow().unwrap().to_string();
    let none = baton(&[
        "export",
        "--since",
        &tomorrow,
        "--unreviewed",
        "--config",
        cfg,
    ]);
    assert!(none.status.success());
    assert!(none.stdout.is_empty());
    let bad = baton(&["export", "--since", "last week", "--config", cfg]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("--since"),
        "{}",
        text(&bad.stderr)
    );
    let bad = baton(&[
        "export",
        "--since",
        &since,
        "--outcome",
        "lost",
        "--config",
        cfg,
    ]);
    assert!(!bad.status.success());
    let missing = dir.path().join("missing.toml");
    std::fs::write(
        &missing,
        "database_url = \"sqlite:///nonexistent/baton.db\"\n",
    )
    .unwrap();
    let bad = baton(&[
        "export",
        "--since",
        &since,
        "--config",
        missing.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(!Path::new("/nonexistent/baton.db").exists());
}

#[tokio::test]
async fn metrics_can_require_a_token_or_be_off() {
    let mut guarded = config();
    guarded.notifications.webhooks.clear();
    guarded.metrics.token = Some("a-long-metrics-token".into());
    let server = TestServer::start_with(guarded).await;
    let url = format!("http://{}/metrics", server.addr);
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    let wrong = http
        .get(&url)
        .bearer_auth("a-long-metrics-tokeN")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    let right = http
        .get(&url)
        .bearer_auth("a-long-metrics-token")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("baton_handoffs_total{mechanism=\"user\"} 0")
    );

    let mut off = config();
    off.metrics.enabled = false;
    let server = TestServer::start_with(off).await;
    let off = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap();
    assert_eq!(off.status(), 404);
}

#[tokio::test]
async fn a_visitor_who_comes_back_has_not_abandoned() {
    let server = TestServer::start_with(config()).await;
    let cookie = server.login(MIA.0, MIA.1).await;
    let mut desk = Desk {
        agent: server.agent(&cookie).await,
        seen: Vec::new(),
    };
    desk.agent.queue().await;

    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    escalate(
        &mut visitor,
        "I want to file a complaint about the delivery driver.",
    )
    .await;
    let id = desk.handed_off().await.id;
    drop(visitor);
    visitors_connected(&server, 0.0).await;
    // Back (a reload, another tab) before anyone ended the handoff.
    let mut back = server.visitor().await;
    back.hello(Some(&token), 0).await;
    // The backlog is sent once the arrival is stored.
    backlog(&mut back).await;
    desk.resume(id).await;

    let store = baton::store::Store::connect(&server.database_url)
        .await
        .unwrap();
    let rows = store.handoffs_between(0, i64::MAX).await.unwrap();
    assert_eq!(rows[0].outcome.as_deref(), Some("returned_to_assistant"));
}
