//! The assistant backends over real sockets: a visitor asks through the
//! widget's socket, the server asks the backend, and the answer (streamed
//! and stored) or the handoff (with its brief) comes back.
//!
//! The LLM is an in-process HTTP server speaking OpenAI's Chat Completions
//! wire format — whole responses with `choices[0].message.content` and
//! `choices[0].logprobs.content[].logprob`, server-sent-event streams of
//! `choices[0].delta.content` chunks with their logprobs ending in
//! `[DONE]`, error statuses and slow answers. The webhook bot is another
//! local server. Nothing here reaches the internet.

mod support;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use baton::config::{AssistantConfig, Backend, BotWebhookConfig, ConfidenceSource, OpenAiConfig};
use baton_shared::*;
use futures::StreamExt;
use serde_json::{Value, json};
use support::*;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const MIA: (&str, &str) = ("demo@baton.local", "baton-demo");
const MODEL: &str = "test-model-7b";

/// Answered confidently, in 35 tokens.
const REFUNDS: &str = "How long do refunds take?";
const REFUNDS_ANSWER: &str = "Refunds are issued to the original payment method within 5 to 7 \
    business days after the returned parcel reaches our warehouse, and you receive an email as \
    soon as the money is on its way.";
/// Answered with every token in doubt (p = 0.45).
const BITCOIN: &str = "Can I pay with Bitcoin?";
const BITCOIN_ANSWER: &str = "Yes, we accept Bitcoin and most other cryptocurrencies at checkout.";
/// Starts confidently (20 tokens), then guesses (10 tokens at p = 0.08).
const NORWAY: &str = "Do you ship to Norway?";
const NORWAY_ANSWER: &str = "We ship to every country in the European Union and to a few \
    more countries nearby, usually within five working days of your order: Norway is served \
    by our partner Fjordpost with customs paid.";
/// The endpoint fails with HTTP 500.
const BROKEN: &str = "Is the shop open on Sunday?";
/// The endpoint takes 5 s to answer.
const SLOW: &str = "Can I pick up my order in person?";
/// Streams its tokens slowly (200 ms each).
const LONG: &str = "Tell me about leather care.";

const SUMMARY_INTENT: &str = "Wants to pay for an order with Bitcoin.";

// ---------------------------------------------------------------------
// The LLM: an OpenAI-compatible Chat Completions endpoint.
// ---------------------------------------------------------------------

/// A request the LLM received.
#[derive(Debug)]
struct Asked {
    authorization: Option<String>,
    body: Value,
}

struct Llm {
    base_url: String,
    asked: mpsc::UnboundedReceiver<Asked>,
}

impl Llm {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let (tx, asked) = mpsc::unbounded_channel();
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, asked }
    }

    fn config(&self, confidence: ConfidenceSource) -> OpenAiConfig {
        OpenAiConfig {
            base_url: self.base_url.clone(),
            model: MODEL.into(),
            // Set by cargo for every test process: any variable will do.
            api_key_env: Some("CARGO_PKG_NAME".into()),
            confidence,
            timeout_ms: 3_000,
            ..OpenAiConfig::default()
        }
    }

    /// The next answer request (summaries skipped).
    async fn next_answer_request(&mut self) -> Asked {
        loop {
            let asked = tokio::time::timeout(DEADLINE, self.asked.recv())
                .await
                .expect("a request in time")
                .unwrap();
            if !is_summary(&asked.body) {
                return asked;
            }
        }
    }
}

fn is_summary(body: &Value) -> bool {
    body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains("handoff notes"))
}

/// What the model "generates" for a question: tokens with their
/// log-probabilities.
fn script(question: &str) -> Vec<(String, f64)> {
    let words = |text: &str, p: f64| -> Vec<(String, f64)> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| {
                let token = if i == 0 {
                    w.to_string()
                } else {
                    format!(" {w}")
                };
                (token, p.ln())
            })
            .collect()
    };
    match question {
        REFUNDS => words(REFUNDS_ANSWER, 0.99),
        BITCOIN => words(BITCOIN_ANSWER, 0.45),
        NORWAY => {
            let all = words(NORWAY_ANSWER, 0.99);
            let (sure, guess) = all.split_at(20);
            sure.iter()
                .cloned()
                .chain(guess.iter().map(|(t, _)| (t.clone(), 0.08f64.ln())))
                .collect()
        }
        LONG => words(REFUNDS_ANSWER, 0.99),
        _ => words("I am not sure.", 0.5),
    }
}

/// A self-rated reply's content for a question.
fn self_rated(question: &str) -> String {
    match question {
        REFUNDS => json!({"answer": REFUNDS_ANSWER, "confidence": 0.93}).to_string(),
        BITCOIN => format!(
            "```json\n{}\n```",
            json!({"answer": BITCOIN_ANSWER, "confidence": 0.35})
        ),
        // Small models forget the format: no rating, no trust.
        NORWAY => NORWAY_ANSWER.to_string(),
        _ => json!({"answer": "I am not sure.", "confidence": 0.2}).to_string(),
    }
}

fn logprob(token: &str, lp: f64) -> Value {
    json!({"token": token, "logprob": lp, "bytes": token.as_bytes(), "top_logprobs": []})
}

async fn completions(
    State(asked): State<mpsc::UnboundedSender<Asked>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body: Value = serde_json::from_str(&body).expect("a JSON request");
    let _ = asked.send(Asked {
        authorization: headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_string()),
        body: body.clone(),
    });
    let messages = body["messages"].as_array().expect("messages");
    let question = messages.last().unwrap()["content"].as_str().unwrap_or("");
    if is_summary(&body) {
        // A little later than the handoff, as a real model would be.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let content = json!({
            "intent": SUMMARY_INTENT,
            "tried": "Drafted a yes, but was not sure Bitcoin is accepted.",
            "next_step": "Tell the visitor which payment methods work instead.",
        });
        return whole(&content.to_string(), None);
    }
    match question {
        BROKEN => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"error": {"message": "the model crashed", "type": "server_error"}})
                    .to_string(),
            )
                .into_response();
        }
        SLOW => tokio::time::sleep(Duration::from_secs(5)).await,
        _ => {}
    }
    if body.get("response_format").is_some() {
        return whole(&self_rated(question), None);
    }
    let tokens = script(question);
    let wants_logprobs = body["logprobs"] == true;
    if body["stream"] == true {
        let delay = if question == LONG { 200 } else { 40 };
        return streamed(tokens, wants_logprobs, Duration::from_millis(delay));
    }
    let text: String = tokens.iter().map(|(t, _)| t.as_str()).collect();
    let logprobs = wants_logprobs.then(
        || json!({"content": tokens.iter().map(|(t, lp)| logprob(t, *lp)).collect::<Vec<_>>()}),
    );
    whole(&text, logprobs)
}

/// A whole `chat.completion`.
fn whole(content: &str, logprobs: Option<Value>) -> Response {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "logprobs": logprobs,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 100, "completion_tokens": 30, "total_tokens": 130},
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A `chat.completion.chunk` stream: a role chunk, one chunk per token
/// with its logprob, a finish chunk, `[DONE]`.
fn streamed(tokens: Vec<(String, f64)>, logprobs: bool, delay: Duration) -> Response {
    let chunk = |delta: Value, lp: Option<Value>, finish: Option<&str>| {
        let chunk = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": finish}],
        });
        format!("data: {chunk}\n\n")
    };
    let mut frames = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        None,
        None,
    )];
    for (token, lp) in tokens {
        let lp = logprobs.then(|| json!({"content": [logprob(&token, lp)]}));
        frames.push(chunk(json!({"content": token}), lp, None));
    }
    frames.push(chunk(json!({}), None, Some("stop")));
    frames.push("data: [DONE]\n\n".into());
    let stream = futures::stream::iter(frames).then(move |frame| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, Infallible>(Bytes::from(frame))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

// ---------------------------------------------------------------------
// The webhook bot.
// ---------------------------------------------------------------------

const BOT_SECRET: &str = "bot-webhook-secret";
const ORDER: &str = "Where is my order 1234?";
const ADDRESS: &str = "I moved, please send it to my new address";
const UNSURE: &str = "Do you sell socks?";
const GARBLED: &str = "What about gift wrapping?";
const STUCK: &str = "Can you hold my parcel?";

struct Bot {
    url: String,
    asked: mpsc::UnboundedReceiver<(Option<String>, String)>,
}

impl Bot {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/bot", listener.local_addr().unwrap());
        let (tx, asked) = mpsc::unbounded_channel();
        let app = Router::new().route("/bot", post(bot)).with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, asked }
    }

    async fn next(&mut self) -> (Option<String>, Value, String) {
        let (signature, raw) = tokio::time::timeout(DEADLINE, self.asked.recv())
            .await
            .expect("the bot is asked in time")
            .unwrap();
        (signature, serde_json::from_str(&raw).unwrap(), raw)
    }
}

async fn bot(
    State(asked): State<mpsc::UnboundedSender<(Option<String>, String)>>,
    headers: HeaderMap,
    raw: String,
) -> Response {
    let signature = headers
        .get("x-baton-signature")
        .map(|v| v.to_str().unwrap().to_string());
    let _ = asked.send((signature, raw.clone()));
    let request: Value = serde_json::from_str(&raw).unwrap();
    let reply = match request["text"].as_str().unwrap() {
        ORDER => json!({"answer": "Order 1234 left our warehouse today.", "confidence": 0.95,
                        "articles": ["Order status"]}),
        ADDRESS => json!({"handoff": "Address changes after dispatch need a person."}),
        UNSURE => json!({"answer": "Maybe?", "confidence": 0.2}),
        GARBLED => return "OK".into_response(),
        STUCK => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            json!({"answer": "Too late.", "confidence": 1.0})
        }
        _ => json!({"answer": "Hello!", "confidence": 1.0}),
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        reply.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------

fn with_backend(assistant: AssistantConfig) -> baton::Config {
    baton::Config {
        demo: true,
        assistant,
        ..baton::Config::default()
    }
}

fn openai(config: OpenAiConfig) -> baton::Config {
    with_backend(AssistantConfig {
        backend: Backend::Openai,
        openai: config,
        ..AssistantConfig::default()
    })
}

fn webhook(timeout_ms: u64) -> baton::Config {
    with_backend(AssistantConfig {
        backend: Backend::Webhook,
        webhook: BotWebhookConfig {
            url: String::new(), // set by the caller
            secret: Some(BOT_SECRET.into()),
            timeout_ms,
        },
        ..AssistantConfig::default()
    })
}

/// What the visitor's socket delivered for one turn, up to and including
/// the event that ends it (the answer or the handoff notice).
#[derive(Debug, Default)]
struct Seen {
    drafts: Vec<String>,
    /// Every frame's kind in order: "draft", "clear", "answer", "handoff".
    order: Vec<&'static str>,
    end: Option<Event>,
}

async fn ask_and_watch(
    visitor: &mut Client<VisitorRequest, VisitorUpdate>,
    id: &str,
    text: &str,
) -> Seen {
    visitor.say(id, text).await;
    let mut seen = Seen::default();
    loop {
        match visitor.next().await {
            VisitorUpdate::Draft { name, text } => {
                assert_eq!(name, "Nova");
                if text.is_empty() {
                    seen.order.push("clear");
                } else {
                    seen.order.push("draft");
                    seen.drafts.push(text);
                }
            }
            VisitorUpdate::Event { event } => match &event.body {
                EventBody::Assistant { .. } => {
                    seen.order.push("answer");
                    seen.end = Some(event);
                    return seen;
                }
                EventBody::HandoffStarted { .. } => {
                    seen.order.push("handoff");
                    seen.end = Some(event);
                    return seen;
                }
                _ => {}
            },
            _ => {}
        }
    }
}

/// The brief of the only queued conversation, as an agent opening it sees
/// it.
async fn brief_in_console(server: &TestServer) -> (Brief, Client<AgentRequest, AgentUpdate>) {
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let entries = agent.queue().await;
    let entry = entries.first().expect("a queued conversation");
    agent
        .send(&AgentRequest::Watch {
            conversation: entry.conversation,
            last_seq: 0,
        })
        .await;
    let brief = agent.detail().await.brief.expect("a brief");
    (brief, agent)
}

fn near(a: f32, b: f32) -> bool {
    (a - b).abs() < 0.01
}

// ---------------------------------------------------------------------
// OpenAI-compatible backend.
// ---------------------------------------------------------------------

#[tokio::test]
async fn a_streamed_answer_appears_token_by_token_and_is_stored_once() {
    let mut llm = Llm::start().await;
    let server = TestServer::start_with(openai(llm.config(ConfidenceSource::Logprobs))).await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;

    let seen = ask_and_watch(&mut visitor, "m1", REFUNDS).await;
    let answer = seen.end.clone().expect("an answer");
    let EventBody::Assistant {
        text, confidence, ..
    } = &answer.body
    else {
        panic!("{answer:?}")
    };
    assert_eq!(text, REFUNDS_ANSWER);
    assert!(near(confidence.unwrap(), 0.99), "{confidence:?}");
    // Several drafts, each the answer so far, growing, before the answer.
    assert!(seen.drafts.len() >= 3, "{seen:?}");
    for pair in seen.drafts.windows(2) {
        assert!(
            pair[1].starts_with(&pair[0]) && pair[1].len() > pair[0].len(),
            "{pair:?}"
        );
    }
    assert!(
        seen.drafts
            .iter()
            .all(|d| REFUNDS_ANSWER.starts_with(d.as_str()))
    );
    assert!(!seen.order.contains(&"clear"), "{:?}", seen.order);
    // Held back until enough of it was there.
    assert!(
        seen.drafts[0].split_whitespace().count() >= 16,
        "{:?}",
        seen.drafts[0]
    );

    // The request: streamed, with logprobs, the key, the knowledge base.
    let asked = llm.next_answer_request().await;
    assert_eq!(asked.authorization.as_deref(), Some("Bearer baton-server"));
    assert_eq!(asked.body["model"], MODEL);
    assert_eq!(
        (&asked.body["stream"], &asked.body["logprobs"]),
        (&json!(true), &json!(true))
    );
    let system = asked.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("You are Nova,"), "{system}");
    assert!(
        system.contains("## How do refunds work?"),
        "the knowledge base is the context"
    );
    assert!(
        system.contains("https://shop.example/boots"),
        "the visitor's page"
    );

    // Drafts are passing news: the log holds the answer exactly once.
    let log = full_log(&server, &token).await;
    let answers: Vec<_> = log
        .iter()
        .filter(|e| matches!(e.body, EventBody::Assistant { .. }))
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(*answers[0], answer);

    // The next turn carries the history.
    ask_and_watch(&mut visitor, "m2", "thanks, and shipping?").await;
    let asked = llm.next_answer_request().await;
    let messages = asked.body["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"], REFUNDS);
    assert_eq!(messages[2]["content"], REFUNDS_ANSWER);
    assert_eq!(messages[3]["content"], "thanks, and shipping?");
}

#[tokio::test]
async fn a_doubtful_answer_is_never_shown_and_hands_off_on_confidence() {
    let llm = Llm::start().await;
    let server = TestServer::start_with(openai(llm.config(ConfidenceSource::Logprobs))).await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;

    let seen = ask_and_watch(&mut visitor, "m1", BITCOIN).await;
    assert_eq!(seen.order, ["handoff"], "not a word of the draft was shown");

    let (brief, _agent) = brief_in_console(&server).await;
    assert_eq!(brief.mechanism, Mechanism::Confidence);
    assert!(near(brief.confidence.unwrap(), 0.45), "{brief:?}");
    assert_eq!(brief.threshold, Some(0.8));
    assert_eq!(brief.withheld_draft.as_deref(), Some(BITCOIN_ANSWER));
    assert!(
        brief.reason.contains("0.45") && brief.reason.contains("0.80"),
        "{}",
        brief.reason
    );
}

#[tokio::test]
async fn a_draft_that_turns_doubtful_is_taken_away_before_the_handoff() {
    let llm = Llm::start().await;
    let server = TestServer::start_with(openai(llm.config(ConfidenceSource::Logprobs))).await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;

    let seen = ask_and_watch(&mut visitor, "m1", NORWAY).await;
    // The confident start was shown, then taken away, then the notice.
    assert_eq!(seen.order.first(), Some(&"draft"), "{:?}", seen.order);
    assert_eq!(&seen.order[seen.order.len() - 2..], ["clear", "handoff"]);
    // Nothing past the point where the running confidence fell under the
    // threshold was shown.
    let shown = seen.drafts.last().unwrap();
    assert!(!shown.contains("Fjordpost"), "{shown}");

    let (brief, _agent) = brief_in_console(&server).await;
    assert_eq!(brief.mechanism, Mechanism::Confidence);
    let confidence = brief.confidence.unwrap();
    assert!(confidence < 0.8, "{confidence}");
    assert_eq!(brief.withheld_draft.as_deref(), Some(NORWAY_ANSWER));
}

#[tokio::test]
async fn self_rated_answers_are_judged_by_their_rating() {
    let mut llm = Llm::start().await;
    let server = TestServer::start_with(openai(llm.config(ConfidenceSource::SelfRating))).await;

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let seen = ask_and_watch(&mut visitor, "m1", REFUNDS).await;
    assert_eq!(seen.order, ["answer"], "a self-rated answer is shown whole");
    let EventBody::Assistant {
        text, confidence, ..
    } = &seen.end.unwrap().body
    else {
        panic!()
    };
    assert_eq!(text, REFUNDS_ANSWER, "the answer, not the JSON around it");
    assert_eq!(*confidence, Some(0.93));
    let asked = llm.next_answer_request().await;
    assert_eq!(
        asked.body["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(asked.body["stream"], false);
    assert!(asked.body.get("logprobs").is_none());
    let system = asked.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("\"confidence\""), "{system}");

    // A low rating (inside a code fence): withheld.
    let seen = ask_and_watch(&mut visitor, "m2", BITCOIN).await;
    assert_eq!(seen.order, ["handoff"]);
    let (brief, _agent) = brief_in_console(&server).await;
    assert_eq!(brief.mechanism, Mechanism::Confidence);
    assert_eq!(brief.confidence, Some(0.35));
    assert_eq!(brief.withheld_draft.as_deref(), Some(BITCOIN_ANSWER));

    // No rating at all: not trusted.
    let mut other = server.visitor().await;
    new_conversation(&mut other).await;
    let seen = ask_and_watch(&mut other, "m1", NORWAY).await;
    assert_eq!(seen.order, ["handoff"]);
}

#[tokio::test]
async fn errors_and_timeouts_hand_off_as_assistant_unavailable() {
    let llm = Llm::start().await;
    let mut config = llm.config(ConfidenceSource::Logprobs);
    config.timeout_ms = 500;
    let server = TestServer::start_with(openai(config)).await;

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let seen = ask_and_watch(&mut visitor, "m1", BROKEN).await;
    assert_eq!(seen.order, ["handoff"]);
    let (brief, _agent) = brief_in_console(&server).await;
    assert_eq!(brief.mechanism, Mechanism::Rule);
    assert_eq!(brief.rule.as_deref(), Some("assistant_unavailable"));
    assert!(
        brief.reason.contains("HTTP 500") && brief.reason.contains("the model crashed"),
        "{}",
        brief.reason
    );

    // A model that takes 5 s: the visitor waits the timeout, not longer.
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let asked = Instant::now();
    let seen = ask_and_watch(&mut visitor, "m1", SLOW).await;
    let waited = asked.elapsed();
    assert_eq!(seen.order, ["handoff"]);
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_millis(2_500),
        "{waited:?}"
    );
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let entries = agent.queue().await;
    let entry = entries
        .iter()
        .find(|e| e.intent == SLOW)
        .expect("the slow one is queued");
    assert_eq!(entry.mechanism, Mechanism::Rule);
    assert!(
        entry.reason.contains("no answer within 500 ms"),
        "{}",
        entry.reason
    );
}

#[tokio::test]
async fn the_model_writes_the_brief_and_watching_agents_see_it() {
    let llm = Llm::start().await;
    let server = TestServer::start_with(openai(llm.config(ConfidenceSource::Logprobs))).await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    visitor.ask("m1", REFUNDS).await;
    let started = Instant::now();
    let seen = ask_and_watch(&mut visitor, "m2", BITCOIN).await;
    assert_eq!(seen.order, ["handoff"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the notice does not wait for the summary"
    );

    let (built, mut agent) = brief_in_console(&server).await;
    // The summary replaces intent, tried and next step; the facts stay.
    let brief = if built.summarised_by.is_some() {
        built
    } else {
        assert_eq!(built.intent, BITCOIN, "built from the conversation first");
        agent
            .until(|u| match u {
                AgentUpdate::Conversation { detail } => {
                    detail.brief.filter(|b| b.summarised_by.is_some())
                }
                _ => None,
            })
            .await
    };
    assert_eq!(brief.summarised_by.as_deref(), Some(MODEL));
    assert_eq!(brief.intent, SUMMARY_INTENT);
    assert_eq!(
        brief.tried_summary.as_deref(),
        Some("Drafted a yes, but was not sure Bitcoin is accepted.")
    );
    assert_eq!(
        brief.next_step,
        "Tell the visitor which payment methods work instead."
    );
    assert_eq!(brief.mechanism, Mechanism::Confidence);
    assert_eq!(brief.withheld_draft.as_deref(), Some(BITCOIN_ANSWER));
    assert_eq!(brief.tried.len(), 1, "the answers given stay as they were");
    assert_eq!(brief.tried[0].answer, REFUNDS_ANSWER);

    drop(agent);
    // The queue shows the model's intent too.
    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let entries = agent.queue().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].intent, SUMMARY_INTENT);
}

#[tokio::test]
async fn the_button_works_while_an_answer_streams() {
    let llm = Llm::start().await;
    let server = TestServer::start_with(openai(OpenAiConfig {
        timeout_ms: 20_000,
        ..llm.config(ConfidenceSource::Logprobs)
    }))
    .await;
    let mut visitor = server.visitor().await;
    let token = new_conversation(&mut visitor).await;
    visitor.say("m1", LONG).await;
    // The answer streams slowly; once it shows, the visitor presses the button.
    visitor
        .until(|u| match u {
            VisitorUpdate::Draft { text, .. } if !text.is_empty() => Some(()),
            _ => None,
        })
        .await;
    let pressed = Instant::now();
    visitor.press_human().await;
    assert!(
        pressed.elapsed() < Duration::from_secs(2),
        "not after the answer"
    );
    // The draft goes away and no answer follows.
    visitor
        .until(|u| match u {
            VisitorUpdate::Draft { text, .. } if text.is_empty() => Some(()),
            VisitorUpdate::Event { event } if matches!(event.body, EventBody::Assistant { .. }) => {
                panic!("answered after the handoff: {event:?}")
            }
            _ => None,
        })
        .await;
    let log = full_log(&server, &token).await;
    assert!(
        !log.iter()
            .any(|e| matches!(e.body, EventBody::Assistant { .. })),
        "{log:?}"
    );
}

// ---------------------------------------------------------------------
// Webhook bot backend.
// ---------------------------------------------------------------------

#[tokio::test]
async fn a_webhook_bot_answers_with_history_and_a_signature() {
    let mut bot = Bot::start().await;
    let mut config = webhook(3_000);
    config.assistant.webhook.url = bot.url.clone();
    let server = TestServer::start_with(config).await;
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;

    let answer = visitor.ask("m1", "hi").await;
    assert!(matches!(&answer.body, EventBody::Assistant { text, .. } if text == "Hello!"));
    let (_, first, _) = bot.next().await;
    assert_eq!(first["history"], json!([]));
    assert_eq!(first["page"], "https://shop.example/boots");

    let answer = visitor.ask("m2", ORDER).await;
    let EventBody::Assistant {
        text,
        confidence,
        articles,
        ..
    } = answer.body
    else {
        panic!()
    };
    assert_eq!(text, "Order 1234 left our warehouse today.");
    assert_eq!(confidence, Some(0.95));
    assert_eq!(articles, ["Order status"]);

    let (signature, request, raw) = bot.next().await;
    assert_eq!(request["text"], ORDER);
    assert_eq!(
        request["history"],
        json!([{"visitor": "hi", "answer": "Hello!"}])
    );
    assert!(request["conversation"].as_i64().is_some());
    let signature = signature.expect("signed");
    let (t, v1) = signature.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    assert_eq!(
        v1,
        baton::notify::Signer::hex_signature(
            BOT_SECRET.as_bytes(),
            format!("{t}.{raw}").as_bytes()
        )
    );
}

#[tokio::test]
async fn a_webhook_bot_hands_off_through_the_engine() {
    let mut bot = Bot::start().await;
    let mut config = webhook(3_000);
    config.assistant.webhook.url = bot.url.clone();
    let server = TestServer::start_with(config).await;

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let seen = ask_and_watch(&mut visitor, "m1", ADDRESS).await;
    assert_eq!(bot.next().await.1["text"], ADDRESS);
    assert_eq!(seen.order, ["handoff"]);
    let (brief, _agent) = brief_in_console(&server).await;
    assert_eq!(brief.mechanism, Mechanism::Rule);
    assert_eq!(brief.rule.as_deref(), Some("bot_handoff"));
    assert_eq!(
        brief.reason,
        "Address changes after dispatch need a person."
    );
    assert_eq!(brief.intent, ADDRESS);
    assert_eq!(brief.summarised_by, None, "a bot writes no summaries");
    // The assistant is paused: the bot is not asked while a person is needed.
    visitor.say("m2", ORDER).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        bot.asked.try_recv().is_err(),
        "the bot was asked while queued"
    );

    // A bot that is not sure: a confidence handoff.
    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let seen = ask_and_watch(&mut visitor, "m1", UNSURE).await;
    assert_eq!(seen.order, ["handoff"]);

    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let entries = agent.queue().await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    let unsure = entries.iter().find(|e| e.intent == UNSURE).unwrap();
    assert_eq!(unsure.mechanism, Mechanism::Confidence);
}

#[tokio::test]
async fn a_broken_or_slow_bot_hands_off_as_assistant_unavailable() {
    let bot = Bot::start().await;
    let mut config = webhook(500);
    config.assistant.webhook.url = bot.url.clone();
    let server = TestServer::start_with(config).await;

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let seen = ask_and_watch(&mut visitor, "m1", GARBLED).await;
    assert_eq!(seen.order, ["handoff"]);

    let mut visitor = server.visitor().await;
    new_conversation(&mut visitor).await;
    let asked = Instant::now();
    let seen = ask_and_watch(&mut visitor, "m1", STUCK).await;
    assert_eq!(seen.order, ["handoff"]);
    assert!(
        asked.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        asked.elapsed()
    );

    let mut agent = server.agent(&server.login(MIA.0, MIA.1).await).await;
    let entries = agent.queue().await;
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(entry.mechanism, Mechanism::Rule);
    }
    let garbled = entries.iter().find(|e| e.intent == GARBLED).unwrap();
    assert!(
        garbled.reason.contains("not a JSON object"),
        "{}",
        garbled.reason
    );
    let stuck = entries.iter().find(|e| e.intent == STUCK).unwrap();
    assert!(stuck.reason.contains("within 500 ms"), "{}", stuck.reason);
}
