//! The assistant's understanding, with the real embedding model (the one
//! `cargo xtask test` provisions): which article answers a question however
//! it is worded, which questions it hands off, where the model comes from
//! (a folder, the hub, an OpenAI-compatible endpoint) and that the
//! articles' embeddings survive a restart.
//!
//! The cases are the project's own four businesses (`eval/sets`): the
//! assertions are rankings and rates with a margin, never exact scores.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use baton::config::{EmbeddingEndpoint, EmbeddingSource, Embeddings};
use baton::eval;
use baton::handoff::Policy;
use baton::knowledge::KnowledgeBase;
use baton::knowledge::embedding::{self, Embedder, Kind, LocalModel, VectorCache};
use baton_shared::Mechanism;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const SETS: [&str; 4] = ["travel", "bikes-de", "telco", "clinic"];

fn set_dir(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../eval/sets")
        .join(set)
}

fn knowledge_base(set: &str) -> KnowledgeBase {
    let kb = std::fs::read_to_string(set_dir(set).join("kb.md")).unwrap();
    KnowledgeBase::parse(&kb).unwrap()
}

fn cases(set: &str) -> String {
    std::fs::read_to_string(set_dir(set).join("cases.jsonl")).unwrap()
}

/// The model, loaded once for the whole binary.
fn model(dir: &Path) -> Embedder {
    static MODEL: OnceLock<Arc<LocalModel>> = OnceLock::new();
    Embedder::Local(
        MODEL
            .get_or_init(|| LocalModel::shared(dir).expect("the test model loads"))
            .clone(),
    )
}

/// A set's knowledge base embedded with the model, once per set for the
/// whole binary (embedding one takes seconds; the tests only read it).
fn understanding(set: &str, dir: &Path) -> Arc<KnowledgeBase> {
    static EMBEDDED: Mutex<BTreeMap<String, Arc<KnowledgeBase>>> = Mutex::new(BTreeMap::new());
    if let Some(kb) = EMBEDDED.lock().unwrap().get(set) {
        return kb.clone();
    }
    let mut kb = knowledge_base(set);
    kb.embed(model(dir), &VectorCache::none()).unwrap();
    let kb = Arc::new(kb);
    EMBEDDED.lock().unwrap().insert(set.to_string(), kb.clone());
    kb
}

/// One-turn cases whose question names the article that answers it:
/// (question, article title).
fn labelled_questions(set: &str) -> Vec<(String, String)> {
    cases(set)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let case: Value = serde_json::from_str(l).unwrap();
            let turns = case["turns"].as_array()?;
            match turns.as_slice() {
                [turn] => Some((
                    turn["text"].as_str()?.to_string(),
                    turn["article"].as_str()?.to_string(),
                )),
                _ => None,
            }
        })
        .collect()
}

/// The share of `questions` whose best article is the labelled one.
fn top_article_rate(kb: &KnowledgeBase, questions: &[(String, String)]) -> f32 {
    let right = questions
        .iter()
        .filter(|(question, article)| kb.answer(&[], question).articles.first() == Some(article))
        .count();
    right as f32 / questions.len() as f32
}

#[test]
fn meaning_finds_the_article_that_words_alone_miss() {
    let Some(dir) = support::model() else { return };
    for set in SETS {
        let questions = labelled_questions(set);
        assert!(
            questions.len() >= 30,
            "{set}: {} questions",
            questions.len()
        );
        let words = top_article_rate(&knowledge_base(set), &questions);
        let meaning = top_article_rate(&understanding(set, &dir), &questions);
        eprintln!("{set}: right article first, words {words:.2}, words and meaning {meaning:.2}");
        assert!(
            meaning >= 0.75,
            "{set}: the right article came first for only {meaning:.2} of its questions"
        );
        assert!(
            meaning >= words + 0.1,
            "{set}: the model adds too little ({words:.2} → {meaning:.2})"
        );
    }
}

/// Rates of one run over a case set.
struct Rates {
    /// Cases where the assistant asked which article was meant.
    answerable_asked: f32,
    unanswerable_asked: f32,
    answerable_handed_off: f32,
    unanswerable_caught: f32,
    typed_requests_caught: f32,
    rules_caught: f32,
}

fn rates(set: &str, kb: &KnowledgeBase) -> Rates {
    rates_with(set, kb, &Policy::default())
}

fn rates_with(set: &str, kb: &KnowledgeBase, policy: &Policy) -> Rates {
    let cases = cases(set);
    let decisions = eval::decisions(policy, kb, &cases).unwrap();
    // Each request or rule case asks for a person in its last turn.
    let last_turn: std::collections::HashMap<String, usize> = cases
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["turns"].as_array().unwrap().len(),
            )
        })
        .collect();
    let share = |kind: &str, hit: &dyn Fn(&eval::Decision) -> bool| {
        let of: Vec<_> = decisions
            .iter()
            .filter(|d| d.id.starts_with(&format!("{set}-{kind}-")))
            .collect();
        assert!(!of.is_empty(), "{set} has {kind} cases");
        of.iter().filter(|d| hit(d)).count() as f32 / of.len() as f32
    };
    // The visitor got a person when asked (or the rule says so): by that
    // mechanism at that turn, or sooner, for an earlier turn the assistant
    // could not answer. (Whether the earlier turns were answered from the
    // right article is the answerable cases' measure, not this one.)
    let last_turn = &last_turn;
    let caught = |expected: Mechanism| {
        move |d: &eval::Decision| match d.handoff {
            Some((mechanism, turn)) => turn < last_turn[&d.id] || mechanism == expected,
            None => false,
        }
    };
    Rates {
        answerable_asked: share("a", &|d| !d.asked.is_empty()),
        unanswerable_asked: share("c", &|d| !d.asked.is_empty()),
        answerable_handed_off: share("a", &|d| d.handoff.is_some()),
        unanswerable_caught: share("c", &|d| d.handoff.is_some()),
        typed_requests_caught: share("u", &caught(Mechanism::User)),
        rules_caught: share("r", &caught(Mechanism::Rule)),
    }
}

/// Asking "did you mean …?" instead of handing off: on every set, most of
/// the answerable questions the assistant was unsure of are answered after
/// one click on the right article (the eval's visitor picks the article
/// its case names, or "none of these"), and no question the knowledge
/// base cannot answer is kept from a person by it.
#[test]
fn asking_which_article_answers_what_a_handoff_would_not() {
    let Some(dir) = support::model() else { return };
    let never = Policy {
        clarify: false,
        ..Policy::default()
    };
    for set in SETS {
        let kb = understanding(set, &dir);
        let (without, with) = (rates_with(set, &kb, &never), rates(set, &kb));
        eprintln!(
            "{set}: answerable handed off {:.2} → {:.2} (asked {:.2}); unanswerable caught {:.2} → {:.2} (asked first {:.2})",
            without.answerable_handed_off,
            with.answerable_handed_off,
            with.answerable_asked,
            without.unanswerable_caught,
            with.unanswerable_caught,
            with.unanswerable_asked,
        );
        assert_eq!(
            without.answerable_asked, 0.0,
            "{set}: asked with clarify = false"
        );
        assert!(
            with.answerable_handed_off <= without.answerable_handed_off - 0.3,
            "{set}: asking should answer far more ({:.2} → {:.2} handed off)",
            without.answerable_handed_off,
            with.answerable_handed_off
        );
        assert!(
            with.answerable_handed_off <= 0.3,
            "{set}: {:.2} of answerable questions still handed off",
            with.answerable_handed_off
        );
        assert!(
            with.unanswerable_caught >= without.unanswerable_caught,
            "{set}: asking kept {:.2} → {:.2} from a person",
            without.unanswerable_caught,
            with.unanswerable_caught
        );
    }
}

/// Floors, not targets: they hold on every set with a margin and fail on
/// a real regression. The targets (issue 19: at most 5% of answerable
/// questions handed off, at least 95% of the others, every typed request)
/// are not met yet; `baton eval` prints where each set stands.
#[test]
fn the_model_hands_off_fewer_answerable_questions_and_still_catches_the_rest() {
    let Some(dir) = support::model() else { return };
    for set in SETS {
        let before = rates(set, &knowledge_base(set));
        let after = rates(set, &understanding(set, &dir));
        eprintln!(
            "{set}: answerable handed off {:.2} → {:.2}, unanswerable caught {:.2} → {:.2}",
            before.answerable_handed_off,
            after.answerable_handed_off,
            before.unanswerable_caught,
            after.unanswerable_caught
        );
        assert!(
            after.answerable_handed_off <= before.answerable_handed_off - 0.03,
            "{set}: the model should answer more ({:.2} → {:.2} handed off)",
            before.answerable_handed_off,
            after.answerable_handed_off
        );
        assert!(
            after.unanswerable_caught >= 0.8,
            "{set}: only {:.2} of the questions the knowledge base cannot answer went to a person",
            after.unanswerable_caught
        );
        assert!(
            after.typed_requests_caught >= 0.9,
            "{set}: typed requests {:.2}",
            after.typed_requests_caught
        );
        assert!(
            after.rules_caught >= 0.9,
            "{set}: rules {:.2}",
            after.rules_caught
        );
    }
}

#[test]
fn articles_embeddings_are_kept_between_starts_by_content() {
    let Some(dir) = support::model() else { return };
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = VectorCache::new(cache_dir.path());

    let first = knowledge_base("travel").embed(model(&dir), &cache).unwrap();
    assert!(first > 0, "the first start computes every text");
    let again = knowledge_base("travel").embed(model(&dir), &cache).unwrap();
    assert_eq!(again, 0, "a restart computes nothing");

    // One article's answer changed: only its texts are computed afresh.
    let markdown = std::fs::read_to_string(set_dir("travel").join("kb.md")).unwrap();
    let (head, tail) = markdown.split_once("\n## ").unwrap();
    let (title, body) = tail.split_once('\n').unwrap();
    let edited = format!("{head}\n## {title}\nThis answer was rewritten today.\n{body}");
    let changed = KnowledgeBase::parse(&edited)
        .unwrap()
        .embed(model(&dir), &cache)
        .unwrap();
    assert!(
        changed > 0 && changed < first / 4,
        "an edit recomputes its own article only: {changed} of {first}"
    );
}

/// Serves a model folder the way the Hugging Face hub does
/// (`/{repo}/resolve/{revision}/{file}`, ranges, `x-repo-commit`, `etag`),
/// counting the requests.
struct FakeHub {
    dir: PathBuf,
    revision: String,
    requests: AtomicUsize,
}

async fn hub_file(
    State(hub): State<Arc<FakeHub>>,
    UrlPath((org, name, revision, file)): UrlPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    hub.requests.fetch_add(1, Ordering::SeqCst);
    if format!("{org}/{name}") != "intfloat/multilingual-e5-small" || revision != hub.revision {
        return (StatusCode::NOT_FOUND, "Repository not found").into_response();
    }
    let Ok(bytes) = tokio::fs::read(hub.dir.join(&file)).await else {
        return (StatusCode::NOT_FOUND, "Entry not found").into_response();
    };
    let total = bytes.len();
    let (start, stop) = headers
        .get(header::RANGE)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        .map(|(a, b)| (a, b.min(total - 1)))
        .unwrap_or((0, total - 1));
    let etag = format!("\"{:x}-{total}\"", file.len());
    (
        StatusCode::PARTIAL_CONTENT,
        [
            ("x-repo-commit", hub.revision.clone()),
            ("etag", etag),
            ("content-range", format!("bytes {start}-{stop}/{total}")),
        ],
        bytes[start..=stop].to_vec(),
    )
        .into_response()
}

async fn serve(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_comes_from_the_hub_once_then_from_the_cache_offline() {
    let Some(dir) = support::model() else { return };
    let cache = tempfile::tempdir().unwrap();
    let config = |endpoint: &str| Embeddings {
        source: EmbeddingSource::Auto,
        // No model in the folder: `auto` goes to the hub.
        dir: cache.path().join("no-model-here"),
        hub_endpoint: endpoint.to_string(),
        cache_dir: cache.path().to_path_buf(),
        ..Embeddings::default()
    };
    let hub = Arc::new(FakeHub {
        dir: dir.clone(),
        revision: Embeddings::default().revision,
        requests: AtomicUsize::new(0),
    });
    let url = serve(
        axum::Router::new()
            .route("/{org}/{name}/resolve/{revision}/{file}", get(hub_file))
            .with_state(hub.clone()),
    )
    .await;

    let Some(Embedder::Local(downloaded)) = embedding::open(&config(&url)).await.unwrap() else {
        panic!("auto with a reachable hub uses the model")
    };
    assert!(
        hub.requests.load(Ordering::SeqCst) >= 3,
        "one request a file at least"
    );
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        assert_eq!(
            std::fs::read(downloaded.dir().join(file)).unwrap(),
            std::fs::read(dir.join(file)).unwrap(),
            "{file} arrives whole"
        );
    }
    assert!(downloaded.dir().starts_with(cache.path().join("hub")));

    // A restart with the hub unreachable reads the cache and asks nothing.
    let asked = hub.requests.load(Ordering::SeqCst);
    let offline = embedding::open(&config("http://127.0.0.1:9"))
        .await
        .unwrap();
    assert!(matches!(offline, Some(Embedder::Local(m)) if m.dir() == downloaded.dir()));
    assert_eq!(hub.requests.load(Ordering::SeqCst), asked);

    // `hub` with a revision the hub does not have: an error that names it.
    let wrong = Embeddings {
        source: EmbeddingSource::Hub,
        revision: "0000000000000000000000000000000000000000".into(),
        ..config(&url)
    };
    let err = embedding::open(&wrong)
        .await
        .err()
        .expect("no such revision");
    assert!(err.to_string().contains("0000000000"), "{err}");
    // `auto` without a model anywhere: words only, not an error.
    let nowhere = Embeddings {
        cache_dir: cache.path().join("empty"),
        ..config("http://127.0.0.1:9")
    };
    assert!(embedding::open(&nowhere).await.unwrap().is_none());
}

/// An OpenAI-compatible `/v1/embeddings` endpoint (as Ollama, vLLM or TEI
/// serve it) backed by the test model, which embeds exactly the text it is
/// sent, prefix included.
struct FakeEndpoint {
    model: Embedder,
    key: &'static str,
    calls: AtomicUsize,
    failing: bool,
}

async fn embeddings(
    State(endpoint): State<Arc<FakeEndpoint>>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Response {
    endpoint.calls.fetch_add(1, Ordering::SeqCst);
    if endpoint.failing {
        return (StatusCode::INTERNAL_SERVER_ERROR, "model not loaded").into_response();
    }
    let bearer = format!("Bearer {}", endpoint.key);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        != Some(&bearer)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})),
        )
            .into_response();
    }
    let inputs: Vec<String> = request["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    // The model is local to this fake: the prefixes arrive in the text.
    let (kind, texts): (Kind, Vec<String>) = match inputs[0].strip_prefix("query: ") {
        Some(_) => (
            Kind::Query,
            inputs
                .iter()
                .map(|t| t["query: ".len()..].to_string())
                .collect(),
        ),
        None => (
            Kind::Passage,
            inputs
                .iter()
                .map(|t| t["passage: ".len()..].to_string())
                .collect(),
        ),
    };
    let model = endpoint.model.clone();
    let vectors = tokio::task::spawn_blocking(move || model.embed(&texts, kind).unwrap())
        .await
        .unwrap();
    // Served in reverse order: the `index` field says which is which.
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .rev()
        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    Json(json!({
        "object": "list",
        "data": data,
        "model": request["model"],
        "usage": {"prompt_tokens": 0, "total_tokens": 0},
    }))
    .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embeddings_endpoint_can_serve_instead_of_a_model_in_the_process() {
    let Some(dir) = support::model() else { return };
    let local = model(&dir);
    let start = |failing: bool| {
        let endpoint = Arc::new(FakeEndpoint {
            model: local.clone(),
            key: "sk-test-embeddings",
            calls: AtomicUsize::new(0),
            failing,
        });
        let app = axum::Router::new()
            .route("/v1/embeddings", post(embeddings))
            .with_state(endpoint.clone());
        async move { (serve(app).await, endpoint) }
    };
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("BATON_TEST_EMBEDDINGS_KEY", "sk-test-embeddings") };
    let config = |url: &str| Embeddings {
        source: EmbeddingSource::Endpoint,
        endpoint: Some(EmbeddingEndpoint {
            base_url: format!("{url}/v1"),
            model: "multilingual-e5-small".into(),
            api_key_env: Some("BATON_TEST_EMBEDDINGS_KEY".into()),
            // The fake endpoint runs the model beside the other tests of
            // this binary, which run it too: a batch can take seconds.
            timeout_ms: 120_000,
            ..EmbeddingEndpoint::default()
        }),
        cache_dir: tempfile::tempdir().unwrap().keep(),
        ..Embeddings::default()
    };

    // The telco knowledge base with the embeddings of the endpoint at `url`.
    let through = |url: String| {
        let config = config(&url);
        async move { knowledge_base("telco").with_model(&config).await.unwrap() }
    };
    let (url, endpoint) = start(false).await;
    let remote = Arc::new(through(url).await);
    assert!(
        remote.embedded(),
        "the articles were embedded by the endpoint"
    );
    assert!(endpoint.calls.load(Ordering::SeqCst) > 0);
    let in_process = understanding("telco", &dir);
    // The same model behind the endpoint ranks as the one in the process.
    let questions = labelled_questions("telco");
    let mut same = 0;
    for (question, _) in &questions {
        let by_endpoint = remote.answer_off_thread(&[], question).await;
        let here = in_process.answer_off_thread(&[], question).await;
        same += usize::from(by_endpoint.articles == here.articles);
    }
    assert!(
        same * 10 >= questions.len() * 9,
        "{same} of {} questions got the same article",
        questions.len()
    );

    // An endpoint that fails: words only, said, and still an answer.
    let (url, broken) = start(true).await;
    let lexical = through(url).await;
    assert!(!lexical.embedded());
    assert!(broken.calls.load(Ordering::SeqCst) > 0);
    // A wrong key is refused by the endpoint the same way.
    unsafe { std::env::set_var("BATON_TEST_EMBEDDINGS_KEY", "sk-wrong") };
    let (url, _) = start(false).await;
    let refused = through(url).await;
    assert!(!refused.embedded());
}

#[test]
fn eval_sweep_prints_the_trade_off_for_each_threshold() {
    let Some(dir) = support::model() else { return };
    let set = set_dir("travel");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["eval", "--sweep", "--kb"])
        .arg(set.join("kb.md"))
        .arg(set.join("cases.jsonl"))
        .env("BATON_EMBEDDINGS", "folder")
        .env("BATON_EMBEDDINGS_DIR", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "0.50  12/52  23%  0/31  0%  80/107": threshold, then counts.
    let rows: Vec<(f32, usize, usize)> = stdout
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let count = |f: &str| f.split('/').next().unwrap().parse::<usize>().unwrap();
            (
                fields[0].parse().unwrap(),
                count(fields[1]),
                count(fields[3]),
            )
        })
        .collect();
    let thresholds: Vec<f32> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        thresholds,
        [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95],
        "{stdout}"
    );
    // A higher threshold hands off more: more false handoffs, fewer missed.
    for pair in rows.windows(2) {
        assert!(pair[1].1 >= pair[0].1 && pair[1].2 <= pair[0].2, "{stdout}");
    }
    assert!(rows[9].1 > rows[0].1, "the threshold matters: {stdout}");
}

/// The feedback loop moves the boundary: on every set, the answerable
/// one-question cases of one half that the assistant handed off are
/// taught to the article their case names (as an agent would in the
/// console). Each is then answered, the other half is handed off no more
/// often than before, and the questions the knowledge base cannot answer
/// still go to a person.
#[test]
fn taught_wordings_are_answered_and_the_rest_still_reach_a_person() {
    let Some(dir) = support::model() else { return };
    let policy = Policy::default();
    for set in SETS {
        let kb = understanding(set, &dir);
        // The answerable cases and those the knowledge base cannot answer
        // (requests and rules do not depend on the articles).
        let cases: String = cases(set)
            .lines()
            .filter(|l| l.contains(&format!("\"{set}-a-")) || l.contains(&format!("\"{set}-c-")))
            .map(|l| format!("{l}\n"))
            .collect();
        // One-question answerable cases: (id, question, article).
        let labelled: Vec<(String, String, String)> = cases
            .lines()
            .filter_map(|l| {
                let case: Value = serde_json::from_str(l).ok()?;
                let id = case["id"].as_str()?;
                match case["turns"].as_array()?.as_slice() {
                    [turn] if id.starts_with(&format!("{set}-a-")) => Some((
                        id.to_string(),
                        turn["text"].as_str()?.to_string(),
                        turn["article"].as_str()?.to_string(),
                    )),
                    _ => None,
                }
            })
            .collect();
        let handed_off = |kb: &KnowledgeBase| -> HashSet<String> {
            eval::decisions(&policy, kb, &cases)
                .unwrap()
                .into_iter()
                .filter(|d| d.handoff.is_some())
                .map(|d| d.id)
                .collect()
        };
        let before = handed_off(&kb);
        let (taught, held_out): (Vec<_>, Vec<_>) =
            labelled.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let lessons: Vec<baton_shared::Lesson> = taught
            .iter()
            .filter(|(_, (id, _, _))| before.contains(id))
            .map(|(_, (_, question, article))| baton_shared::Lesson {
                article: article.clone(),
                phrasing: question.clone(),
                answer: None,
                by: baton_shared::AgentRef {
                    id: 1,
                    name: "Mia".into(),
                },
                at: 0,
            })
            .collect();
        let learned = kb.with_lessons(&lessons).unwrap();
        assert_eq!(learned.unmatched, 0);
        let wiser = learned.kb;
        let after = handed_off(&wiser);
        let count = |handed: &HashSet<String>, of: &[(usize, &(String, String, String))]| {
            of.iter()
                .filter(|(_, (id, _, _))| handed.contains(id))
                .count()
        };
        let caught = |handed: &HashSet<String>| {
            handed
                .iter()
                .filter(|id| id.starts_with(&format!("{set}-c-")))
                .count()
        };
        eprintln!(
            "{set}: {} lessons; taught half handed off {} → {}; other half {} → {} of {}; not covered caught {} → {}",
            lessons.len(),
            count(&before, &taught),
            count(&after, &taught),
            count(&before, &held_out),
            count(&after, &held_out),
            held_out.len(),
            caught(&before),
            caught(&after),
        );
        for lesson in &lessons {
            let c = wiser.answer(&[], &lesson.phrasing);
            assert_eq!(
                c.articles.first(),
                Some(&lesson.article),
                "{set}: {:?}",
                lesson.phrasing
            );
        }
        assert_eq!(count(&after, &taught), 0, "{set}: taught, still handed off");
        assert!(
            count(&after, &held_out) <= count(&before, &held_out),
            "{set}: lessons made other questions go to a person"
        );
        assert!(
            caught(&after) >= caught(&before),
            "{set}: lessons kept questions the knowledge base cannot answer from a person"
        );
    }
}
