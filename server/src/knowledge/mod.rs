//! The Markdown knowledge base and the assistant's retrieval over it.
//!
//! A knowledge base is a Markdown file: every `## ` heading is an article
//! (a question or topic) and the text under it, up to the next `## `
//! heading, is its answer; the `# ` title is ignored. [`KnowledgeBase::answer`]
//! picks the article that best answers the visitor's turn and says how sure
//! it is.
//!
//! # How the confidence is computed
//!
//! Articles and questions are reduced to stemmed content terms
//! ([`terms`]: stop words, numbers and amounts dropped, Snowball stems).
//! Each term `t` weighs its BM25 inverse document frequency,
//! `idf(t) = ln(1 + (N − df + ½) / (df + ½))`, so rare, specific words
//! count more than words many articles share; a word no article contains
//! weighs as much as a word only one article contains.
//!
//! For each article `a`:
//!
//! - **question coverage** `q(a)`: the idf-weighted share of the question's
//!   terms that occur in the article (title or body; a synonym from a small
//!   list of everyday support words — change/update, price/cost, sell/offer
//!   — counts 0.8). This is the core of the confidence: "Do you accept
//!   Bitcoin?" is about *accept* and *bitcoin*, no article mentions
//!   Bitcoin, so at most half of the question is answered.
//! - **title coverage** `h(a)`: the idf-weighted share of the article's
//!   title terms that the question (and, for a follow-up, the conversation)
//!   contains. When the visitor asks the article's whole question plus a
//!   detail ("How long does shipping take *to Germany*?"), the article is
//!   very likely the answer even though the detail is not in it.
//!
//! `confidence(a) = q + (1 − q) · 0.65 · h`. With `h = 1` this needs 43 %
//! of the question covered to reach 0.8; with `h = 0` it needs 80 %; and
//! since `0.65 < 0.8`, matching a title never carries a question none of
//! whose words are covered. The answer is the article with the highest
//! confidence (ties: higher `h`, then higher BM25 with k1 = 1.2, b = 0.75
//! and title terms counted twice), and the confidence is that article's.
//!
//! **Follow-ups.** A short turn (at most three content terms) that leans on
//! the previous one is read in context: it points back with a pronoun ("And
//! how much does *it* cost?"), opens with "and"/"what about", or has a
//! single content term. The reference back is treated as one more question
//! term that stands for the earlier turn's terms: it weighs as much as an
//! average earlier term and is covered as far as the article covers those
//! terms. The confidence is the *lower* of that reading and the coverage of
//! the new terms alone, so both must hold: the article fits the
//! conversation, and it covers what is new. "Can I bring my dog into the
//! store?" after a question about the store stays uncertain (*bring* and
//! *dog* are covered nowhere); "How much do they cost?" after gift cards is
//! not answered with the shipping-cost article (it covers *cost* but not
//! gift cards). A turn without a pronoun may also be read on its own, and
//! the better reading counts.
//!
//! # With an embedding model
//!
//! When the server has a model ([`embedding`]), meaning weighs in too
//! ([`semantic`]): articles are ranked by their closeness to the question
//! plus [`confidence::LEXICAL_IN_RANKING`] of the confidence above, and the best one's
//! confidence comes from a logistic model over eight signals
//! ([`confidence`]: closeness, lead over the runner-up, word coverage,
//! agreement, …). The more confident of the two readings — words alone,
//! or words and meaning — answers, so a question in the knowledge base's
//! own words is never worse off for the model.
//!
//! **Contenders.** Besides the best article, an answer names the articles
//! close behind it ([`Candidate::contenders`]: within
//! [`confidence::CLOSE_BEHIND`] in the fused ranking, or within 0.2 of the
//! lexical confidence without a model), so the engine can ask "did you
//! mean …?" instead of handing off ([`crate::handoff::clarify`]). A turn
//! that is, word for word, one of the titles such a question offered is
//! answered with that article at confidence 1: the visitor chose it.
//!
//! Words the knowledge base does not know but that are one typo away from
//! one it does ("shiping", "authentification") are read as that word.
//! Greetings and thanks on their own get a short reply with full
//! confidence, so saying "hello" never summons a person; a turn with no
//! content at all (empty, emoji, an attachment only) has confidence 0.

pub mod confidence;
pub mod embedding;
pub mod lessons;
pub mod semantic;
pub mod terms;

use std::collections::{BTreeSet, HashMap};

use crate::handoff::text::{fold, is_typo_of, words};
use crate::handoff::{Candidate, Exchange};
use embedding::{EmbedError, Embedder, VectorCache};
use terms::{Analyzer, Language};

pub use lessons::Knowledge;

const K1: f32 = 1.2;
const B: f32 = 0.75;
const TITLE_BOOST: f32 = 2.0;
/// How much the title coverage can add (λ in the module docs).
const TITLE_LIFT: f32 = 0.65;
/// BM25 weight of context terms in a follow-up.
const CONTEXT_WEIGHT: f32 = 0.5;
/// Coverage credit for a synonym instead of the word itself.
const SYNONYM_CREDIT: f32 = 0.8;
/// How far below the best article's lexical confidence another may be
/// and still be offered in a clarifying question (without a model).
const LEXICAL_CLOSE_BEHIND: f32 = 0.2;
/// How many earlier turns a chain of follow-ups may reach back.
const MAX_CONTEXT_TURNS: usize = 3;
/// A follow-up has at most this many content terms of its own.
const FOLLOW_UP_TERMS: usize = 3;
/// At most this many query terms are considered (a pasted essay is not a question).
const MAX_QUERY_TERMS: usize = 64;

/// Words that make a short turn lean on the previous one.
const FOLLOW_UP_OPENERS: &[&str] = &[
    "and",
    "also",
    "what about",
    "how about",
    "und",
    "auch",
    "et",
    "aussi",
    "y",
    "tambien",
    "en",
    "ook",
];
const FOLLOW_UP_POINTERS: &[&str] = &[
    "it", "they", "them", "that", "this", "those", "these", "there", "its", "one", "ones", "es",
    "das", "dies", "diese", "dort", "cela", "ca", "ils", "elles", "eso", "esto", "ello", "alli",
    "het", "dat", "dit", "daar",
];
/// Small talk that the assistant answers itself.
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hallo",
    "bonjour",
    "salut",
    "hola",
    "hoi",
    "morning",
    "good",
    "evening",
    "afternoon",
    "guten",
    "tag",
    "morgen",
    "buenos",
    "dias",
    "goedemorgen",
    "goedendag",
    "there",
];
const THANKS: &[&str] = &[
    "thanks", "thank", "you", "ok", "okay", "great", "cool", "perfect", "awesome", "bye",
    "goodbye", "cheers", "danke", "merci", "gracias", "bedankt", "dank", "je", "wel", "super",
    "prima", "nice", "got", "it", "vielen", "beaucoup", "muchas", "much", "so", "very", "tschuss",
    "adios", "doei", "alright", "fine",
];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KnowledgeError {
    #[error("the knowledge base has no articles (each article starts with a `## ` heading)")]
    Empty,
    #[error("line {line}: article heading without a title")]
    Untitled { line: usize },
    #[error("line {line}: article {title:?} has no answer text under its heading")]
    NoBody { title: String, line: usize },
}

#[derive(Debug, Clone)]
struct Article {
    title: String,
    body: String,
    /// Other ways visitors ask this (`? ` lines in the Markdown, and
    /// phrasings agents taught it).
    phrasings: Vec<String>,
    /// Distinct stemmed title terms.
    title_terms: BTreeSet<String>,
    /// The same for each phrasing.
    phrasing_terms: Vec<BTreeSet<String>>,
    /// Term frequencies over title (boosted) and body.
    tf: HashMap<String, f32>,
    len: f32,
}

/// A line under an article's heading that starts with this is another way
/// visitors ask the article's question, not part of its answer.
pub const PHRASING: &str = "? ";

impl Article {
    fn new(analyzer: &Analyzer, title: String, body: String, phrasings: Vec<String>) -> Self {
        let title_terms: Vec<String> = analyzer.terms(&title);
        let body_terms: Vec<String> = analyzer.terms(&body);
        let phrasing_terms: Vec<Vec<String>> =
            phrasings.iter().map(|p| analyzer.terms(p)).collect();
        let mut tf: HashMap<String, f32> = HashMap::new();
        for t in &title_terms {
            *tf.entry(t.clone()).or_default() += TITLE_BOOST;
        }
        for t in body_terms.iter().chain(phrasing_terms.iter().flatten()) {
            *tf.entry(t.clone()).or_default() += 1.0;
        }
        let len = title_terms.len() as f32 * TITLE_BOOST
            + body_terms.len() as f32
            + phrasing_terms.iter().map(Vec::len).sum::<usize>() as f32;
        Self {
            title,
            body,
            phrasings,
            title_terms: title_terms.into_iter().collect(),
            phrasing_terms: phrasing_terms
                .into_iter()
                .map(|t| t.into_iter().collect())
                .collect(),
            tf,
            len,
        }
    }

    /// The article's questions: its title, then its phrasings.
    fn questions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.title.as_str()).chain(self.phrasings.iter().map(String::as_str))
    }

    /// What an embedding model reads of it as a passage.
    fn passage(&self) -> String {
        format!("{}\n{}", self.title, self.body)
    }
}

/// A knowledge base with its lessons ([`KnowledgeBase::with_lessons`]).
#[derive(Debug)]
pub struct Learned {
    pub kb: KnowledgeBase,
    /// Lessons whose article is not in the knowledge base.
    pub unmatched: usize,
}

/// The start of an answer, on one line, for telling articles apart.
fn summary(body: &str) -> String {
    const CHARS: usize = 120;
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(CHARS) {
        Some((cut, _)) => format!("{}…", line[..cut].trim_end()),
        None => line,
    }
}

/// A parsed, indexed knowledge base.
#[derive(Debug)]
pub struct KnowledgeBase {
    articles: Vec<Article>,
    /// Number of articles containing each term.
    df: HashMap<String, usize>,
    /// Every folded word of the articles, for typo correction.
    vocabulary: BTreeSet<String>,
    avg_len: f32,
    analyzer: Analyzer,
    /// The articles embedded, when a model is available.
    semantic: Option<semantic::Semantic>,
}

/// How one article fares for a question.
#[derive(Debug, Clone, Copy)]
struct Score {
    confidence: f32,
    /// Title coverage, the first tie-break: prefer the article whose
    /// question was asked most completely.
    title: f32,
    bm25: f32,
}

impl KnowledgeBase {
    /// Parses the Markdown; see the module docs for the format.
    pub fn parse(markdown: &str) -> Result<Self, KnowledgeError> {
        let mut raw: Vec<(String, usize, Vec<&str>, Vec<String>)> = Vec::new();
        let mut fenced = false;
        for (i, line) in markdown.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fenced = !fenced;
            }
            if !fenced && (line.starts_with("## ") || line.trim_end() == "##") {
                let title = line[2..].trim().trim_end_matches('#').trim().to_string();
                if title.is_empty() {
                    return Err(KnowledgeError::Untitled { line: i + 1 });
                }
                raw.push((title, i + 1, Vec::new(), Vec::new()));
            } else if let Some((_, _, body, phrasings)) = raw.last_mut() {
                match line.strip_prefix(PHRASING) {
                    Some(phrasing) if !fenced && !phrasing.trim().is_empty() => {
                        phrasings.push(phrasing.trim().to_string())
                    }
                    _ => body.push(line),
                }
            }
        }
        if raw.is_empty() {
            return Err(KnowledgeError::Empty);
        }
        let analyzer = Analyzer::new(Language::detect(markdown));
        let mut articles = Vec::new();
        for (title, line, body, phrasings) in raw {
            let body = body.join("\n").trim().to_string();
            if body.is_empty() {
                return Err(KnowledgeError::NoBody { title, line });
            }
            articles.push(Article::new(&analyzer, title, body, phrasings));
        }
        Ok(Self::index(articles, analyzer))
    }

    /// Document frequencies, vocabulary and lengths over `articles`.
    fn index(articles: Vec<Article>, analyzer: Analyzer) -> Self {
        let mut df: HashMap<String, usize> = HashMap::new();
        for a in &articles {
            for t in a.tf.keys() {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        let vocabulary = articles
            .iter()
            .flat_map(|a| {
                words(&fold(&a.title))
                    .into_iter()
                    .chain(words(&fold(&a.body)))
                    .chain(a.phrasings.iter().flat_map(|p| words(&fold(p))))
            })
            .collect();
        let avg_len = articles.iter().map(|a| a.len).sum::<f32>() / articles.len() as f32;
        Self {
            articles,
            df,
            vocabulary,
            avg_len: avg_len.max(1.0),
            analyzer,
            semantic: None,
        }
    }

    /// Embeds the articles with `embedder` (see [`semantic`]); from then
    /// on answers weigh meaning as well as words. Returns how many texts
    /// had to be computed (the rest came from `cache`).
    pub fn embed(&mut self, embedder: Embedder, cache: &VectorCache) -> Result<usize, EmbedError> {
        let (semantic, computed) = semantic::Semantic::build(embedder, &self.articles, cache)?;
        self.semantic = Some(semantic);
        Ok(computed)
    }

    /// The knowledge base with the model `config` names, if any (see
    /// [`embedding::open`]): its articles embedded, from the vector cache
    /// in `cache_dir` where possible. A model that is configured but
    /// cannot be had stops the server (the error names it); articles that
    /// cannot be embedded leave retrieval lexical, with a warning.
    pub async fn with_model(
        mut self,
        config: &crate::config::Embeddings,
    ) -> Result<Self, EmbedError> {
        let Some(embedder) = embedding::open(config).await? else {
            return Ok(self);
        };
        let cache = VectorCache::new(&config.cache_dir.join("vectors"));
        let started = std::time::Instant::now();
        let (kb, embedded) = tokio::task::spawn_blocking(move || {
            let embedded = self.embed(embedder, &cache);
            (self, embedded)
        })
        .await
        .map_err(|e| EmbedError::Failed(e.to_string()))?;
        match embedded {
            Ok(computed) => tracing::info!(
                articles = kb.articles(),
                computed,
                ms = started.elapsed().as_millis() as u64,
                "knowledge base embedded"
            ),
            Err(e) => tracing::warn!(%e, "the articles could not be embedded: words only"),
        }
        Ok(kb)
    }

    /// Whether answers use an embedding model.
    pub fn embedded(&self) -> bool {
        self.semantic.is_some()
    }

    /// Every article's signals for `text`, for tuning and `baton eval
    /// --explain`: (title, lexical score, closeness by meaning).
    pub fn explain(&self, history: &[Exchange], text: &str) -> Vec<Signals> {
        let question = self.query_terms(text);
        let context = self.context(history, text, &question);
        let closeness = self.closeness(text, &context);
        self.articles
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let score = self.score(a, &question, &context);
                let (own, in_context) = match &closeness {
                    Some(c) => (Some(c[0][i]), c.get(1).map(|c| c[i])),
                    None => (None, None),
                };
                Signals {
                    title: a.title.clone(),
                    lexical: score.confidence,
                    coverage: self
                        .coverage(a, &question.iter().map(|t| (t, 1.0)).collect::<Vec<_>>()),
                    title_coverage: score.title,
                    bm25: score.bm25,
                    leans: !context.terms.is_empty() || context.pointer,
                    closeness: own,
                    closeness_in_context: in_context,
                }
            })
            .collect()
    }

    /// The turn's closeness to every article by meaning: read alone, and
    /// (for a follow-up) read after the turns it leans on. `None` without
    /// a model, or when the model failed (lexical only, said in the log).
    fn closeness(&self, text: &str, context: &Context) -> Option<Vec<Vec<semantic::Closeness>>> {
        let semantic = self.semantic.as_ref()?;
        let mut texts = vec![text.to_string()];
        if !context.texts.is_empty() {
            texts.push(format!("{} {text}", context.texts.join(" ")));
        }
        match semantic.closeness(&texts) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(%e, "retrieval falls back to words only for this turn");
                None
            }
        }
    }

    pub fn articles(&self) -> usize {
        self.articles.len()
    }

    /// Whether an article has this title (exactly).
    pub fn has_article(&self, title: &str) -> bool {
        self.articles.iter().any(|a| a.title == title)
    }

    /// The answer of the article with this title.
    pub fn answer_of(&self, title: &str) -> Option<&str> {
        self.articles
            .iter()
            .find(|a| a.title == title)
            .map(|a| a.body.as_str())
    }

    /// The articles as agents pick one, in the knowledge base's order;
    /// `taught` marks those an agent wrote (after the Markdown's).
    pub fn article_refs(&self, markdown_articles: usize) -> Vec<baton_shared::ArticleRef> {
        self.articles
            .iter()
            .enumerate()
            .map(|(i, a)| baton_shared::ArticleRef {
                title: a.title.clone(),
                summary: summary(&a.body),
                phrasings: a.phrasings.clone(),
                taught: i >= markdown_articles,
            })
            .collect()
    }

    /// This knowledge base with what agents taught it: each lesson's
    /// wording becomes one more phrasing of its article (matched by words
    /// and, with a model, by meaning — only the new wordings are embedded),
    /// and a lesson with an answer adds its article. A lesson naming an
    /// article that is no longer here (the Markdown changed) is left out
    /// and counted.
    pub fn with_lessons(&self, lessons: &[baton_shared::Lesson]) -> Result<Learned, EmbedError> {
        let mut articles = self.articles.clone();
        let mut unmatched = 0;
        let analyzer = Analyzer::new(self.language());
        for lesson in lessons {
            let phrasing = lesson.phrasing.trim();
            match articles.iter_mut().position(|a| a.title == lesson.article) {
                Some(i) => {
                    let a = &articles[i];
                    let known = a.questions().any(|q| q.eq_ignore_ascii_case(phrasing));
                    if !known {
                        let mut phrasings = a.phrasings.clone();
                        phrasings.push(phrasing.to_string());
                        let (title, body) = (a.title.clone(), a.body.clone());
                        articles[i] = Article::new(&analyzer, title, body, phrasings);
                    }
                }
                None => match &lesson.answer {
                    Some(answer) => articles.push(Article::new(
                        &analyzer,
                        lesson.article.clone(),
                        answer.trim().to_string(),
                        vec![phrasing.to_string()],
                    )),
                    None => unmatched += 1,
                },
            }
        }
        let mut kb = Self::index(articles, analyzer);
        if let Some(semantic) = &self.semantic {
            kb.semantic = Some(semantic.extend(&self.articles, &kb.articles)?);
        }
        Ok(Learned { kb, unmatched })
    }

    /// The language the knowledge base was detected to be written in.
    pub fn language(&self) -> Language {
        self.analyzer.language()
    }

    fn idf(&self, term: &str) -> f32 {
        let n = self.articles.len() as f32;
        // Unknown terms weigh like terms found in one article.
        let df = self.df.get(term).copied().unwrap_or(0).max(1) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Stemmed query terms, with unknown words read as the knowledge-base
    /// word they are a typo of.
    fn query_terms(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for word in self.analyzer.content_words(text) {
            if !seen.insert(word.clone()) {
                continue;
            }
            let mut term = self.analyzer.stem(&word);
            if !self.df.contains_key(&term)
                && let Some(fixed) = self.vocabulary.iter().find(|v| is_typo_of(&word, v))
            {
                term = self.analyzer.stem(fixed);
            }
            if !out.contains(&term) {
                out.push(term);
            }
            if out.len() >= MAX_QUERY_TERMS {
                break;
            }
        }
        out
    }

    /// How well `term` is matched by `present`: fully by itself, partly by
    /// a synonym.
    fn matched(&self, term: &str, present: impl Fn(&str) -> bool) -> f32 {
        if present(term) {
            1.0
        } else if self.analyzer.synonyms(term).iter().any(|s| present(s)) {
            SYNONYM_CREDIT
        } else {
            0.0
        }
    }

    /// The idf-weighted share of `terms` (with their weights) the article contains.
    fn coverage(&self, article: &Article, terms: &[(&String, f32)]) -> f32 {
        let total: f32 = terms.iter().map(|(t, w)| w * self.idf(t)).sum();
        let covered: f32 = terms
            .iter()
            .map(|(t, w)| w * self.idf(t) * self.matched(t, |x| article.tf.contains_key(x)))
            .sum();
        if total > 0.0 { covered / total } else { 0.0 }
    }

    /// The share of `text`'s content words the knowledge base uses (or
    /// is one typo away from): how far the turn is in its language.
    fn known_share(&self, text: &str) -> f32 {
        let words = self.analyzer.content_words(text);
        if words.is_empty() {
            return 0.0;
        }
        let known = words
            .iter()
            .filter(|w| {
                self.vocabulary.contains(*w) || self.vocabulary.iter().any(|v| is_typo_of(w, v))
            })
            .count();
        known as f32 / words.len() as f32
    }

    /// The idf-weighted share of the article's title terms found (or a
    /// synonym of them) in `asked`.
    fn title_coverage(&self, article: &Article, asked: &[&String]) -> f32 {
        std::iter::once(&article.title_terms)
            .chain(&article.phrasing_terms)
            .map(|terms| {
                let total: f32 = terms.iter().map(|t| self.idf(t)).sum();
                let found: f32 = terms
                    .iter()
                    .map(|t| self.idf(t) * self.matched(t, |x| asked.iter().any(|a| *a == x)))
                    .sum();
                if total > 0.0 { found / total } else { 0.0 }
            })
            .fold(0.0, f32::max)
    }

    fn score(&self, article: &Article, question: &[String], context: &Context) -> Score {
        let lift = |q: f32, h: f32| (q + (1.0 - q) * TITLE_LIFT * h).clamp(0.0, 1.0) + 0.0;
        let own: Vec<(&String, f32)> = question.iter().map(|t| (t, 1.0)).collect();
        let own_asked: Vec<&String> = question.iter().collect();
        let q = self.coverage(article, &own);
        let standalone = lift(q, self.title_coverage(article, &own_asked));

        let all_asked: Vec<&String> = question.iter().chain(&context.terms).collect();
        let h = self.title_coverage(article, &all_asked);
        let confidence = if context.terms.is_empty() {
            standalone
        } else {
            // The reference back ("it", "and …") is one more question term
            // that stands for the earlier topic: it weighs as much as an
            // average context term and is covered as far as the article
            // covers the context.
            let ctx: Vec<(&String, f32)> = context.terms.iter().map(|t| (t, 1.0)).collect();
            let reference = ctx.iter().map(|(t, _)| self.idf(t)).sum::<f32>() / ctx.len() as f32;
            let own_weight: f32 = question.iter().map(|t| self.idf(t)).sum();
            let q_ctx = (q * own_weight + reference * self.coverage(article, &ctx))
                / (own_weight + reference);
            // The new terms must be covered too: both readings must agree.
            let follow_up = if question.is_empty() {
                lift(q_ctx, h)
            } else {
                lift(q, h).min(lift(q_ctx, h))
            };
            if context.pointer {
                follow_up
            } else {
                follow_up.max(standalone)
            }
        };
        let bm25_term = |t: &String, w: f32| {
            let tf = article.tf.get(t).copied().unwrap_or(0.0);
            w * self.idf(t) * tf * (K1 + 1.0)
                / (tf + K1 * (1.0 - B + B * article.len / self.avg_len))
        };
        let bm25 = question.iter().map(|t| bm25_term(t, 1.0)).sum::<f32>()
            + context
                .terms
                .iter()
                .map(|t| bm25_term(t, CONTEXT_WEIGHT))
                .sum::<f32>();
        Score {
            confidence,
            title: h,
            bm25,
        }
    }

    /// Whether a turn leans on the one before it, and how: `Some(true)`
    /// when it points back with a pronoun ("how much does *it* cost?"),
    /// `Some(false)` when it only continues ("and shipping?") or is a
    /// single term, `None` when it stands on its own.
    fn leans(&self, text: &str, question: &[String]) -> Option<bool> {
        if question.len() > FOLLOW_UP_TERMS {
            return None;
        }
        let folded = words(&fold(text));
        let joined = format!(" {} ", folded.join(" "));
        let opener = FOLLOW_UP_OPENERS
            .iter()
            .any(|o| joined.starts_with(&format!(" {o} ")));
        let pointer = folded
            .iter()
            .any(|w| FOLLOW_UP_POINTERS.contains(&w.as_str()));
        if pointer {
            Some(true)
        } else if opener || question.len() <= 1 {
            Some(false)
        } else {
            None
        }
    }

    /// The context a follow-up leans on: the terms of the previous answered
    /// visitor turn, and of the ones before it while they were follow-ups
    /// too. Empty when `text` stands on its own.
    fn context(&self, history: &[Exchange], text: &str, question: &[String]) -> Context {
        let Some(pointer) = self.leans(text, question) else {
            return Context::default();
        };
        let mut terms: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        for e in history
            .iter()
            .rev()
            .filter(|e| e.answer.is_some())
            .take(MAX_CONTEXT_TURNS)
        {
            let earlier = self.query_terms(&e.turn.text);
            let leaned = self.leans(&e.turn.text, &earlier).is_some();
            terms.extend(earlier);
            texts.push(e.turn.text.clone());
            if !leaned {
                break;
            }
        }
        terms.retain(|t| !question.contains(t));
        terms.sort();
        terms.dedup();
        texts.reverse();
        Context {
            terms,
            pointer,
            texts,
        }
    }

    /// The best answer to `text` given the conversation so far, with a
    /// confidence in [0, 1] computed as the module docs explain.
    pub fn answer(&self, history: &[Exchange], text: &str) -> Candidate {
        self.assess(history, text).0
    }

    /// [`answer`](Self::answer) from async code: with an embedding model
    /// a turn computes (or waits for an endpoint), so it runs on a
    /// blocking thread and the async workers stay free.
    pub async fn answer_off_thread(
        self: &std::sync::Arc<Self>,
        history: &[Exchange],
        text: &str,
    ) -> Candidate {
        if self.semantic.is_none() {
            return self.answer(history, text);
        }
        let (kb, history, text) = (self.clone(), history.to_vec(), text.to_string());
        match tokio::task::spawn_blocking(move || kb.answer(&history, &text)).await {
            Ok(candidate) => candidate,
            // The blocking pool is shutting down: no answer, a person.
            Err(_) => Candidate::none(),
        }
    }

    /// [`answer`](Self::answer), with the signals its confidence came
    /// from when an embedding model weighed in (for `examples/calibrate.rs`).
    pub fn assess(
        &self,
        history: &[Exchange],
        text: &str,
    ) -> (Candidate, Option<confidence::Features>) {
        if let Some(chosen) = self.chosen(history, text) {
            return (chosen, None);
        }
        if let Some(reply) = small_talk(text) {
            return (reply, None);
        }
        let question = self.query_terms(text);
        let context = self.context(history, text, &question);
        if question.is_empty() && !context.pointer {
            return (Candidate::none(), None);
        }
        let lexical = self.lexical_answer(&question, &context);
        if let Some(closeness) = self.closeness(text, &context) {
            let (hybrid, features) = self.hybrid_answer(text, &question, &context, &closeness);
            // Words that match an article this well are as sure a sign as
            // any (the lexical confidence is tuned to be right when high):
            // the more confident of the two readings answers.
            let candidate = if lexical.confidence > hybrid.confidence {
                lexical
            } else {
                hybrid
            };
            return (candidate, Some(features));
        }
        (lexical, None)
    }

    /// The visitor's pick after a clarifying question: a turn that is one
    /// of the titles offered (the quick reply sends it) is answered with
    /// that article, for sure — the visitor said so.
    fn chosen(&self, history: &[Exchange], text: &str) -> Option<Candidate> {
        let offered = history.last()?.offered();
        let picked = fold(text.trim());
        let title = offered.iter().find(|t| fold(t.trim()) == picked)?;
        let article = self.articles.iter().find(|a| &a.title == title)?;
        Some(Candidate {
            text: article.body.clone(),
            confidence: 1.0,
            articles: vec![article.title.clone()],
            ..Candidate::default()
        })
    }

    /// The answer from words alone (module docs).
    fn lexical_answer(&self, question: &[String], context: &Context) -> Candidate {
        let mut scored: Vec<(&Article, Score)> = self
            .articles
            .iter()
            .map(|a| (a, self.score(a, question, context)))
            .collect();
        scored.sort_by(|(_, x), (_, y)| {
            y.confidence
                .total_cmp(&x.confidence)
                .then(y.title.total_cmp(&x.title))
                .then(y.bm25.total_cmp(&x.bm25))
        });
        match scored.first() {
            // An article that shares no term with the question is no answer.
            Some((article, score)) if score.confidence > 0.0 => Candidate {
                text: article.body.clone(),
                confidence: score.confidence,
                articles: vec![article.title.clone()],
                contenders: scored[1..]
                    .iter()
                    .take(crate::handoff::MAX_CHOICES - 1)
                    .filter(|(_, s)| {
                        s.confidence > 0.0
                            && score.confidence - s.confidence <= LEXICAL_CLOSE_BEHIND
                    })
                    .map(|(a, _)| a.title.clone())
                    .collect(),
                ..Candidate::default()
            },
            _ => Candidate::none(),
        }
    }
}

impl KnowledgeBase {
    /// The answer with an embedding model: articles ranked by closeness
    /// plus a little of the lexical confidence, and the confidence of the
    /// best from its signals ([`confidence`]).
    fn hybrid_answer(
        &self,
        text: &str,
        question: &[String],
        context: &Context,
        closeness: &[Vec<semantic::Closeness>],
    ) -> (Candidate, confidence::Features) {
        let own: Vec<String> = question.to_vec();
        let per_article: Vec<(f32, [f32; 3], Score, f32)> = self
            .articles
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let alone = closeness[0][i];
                // A follow-up is read in context too; one that points back
                // ("how much is *it*?") only in context.
                let read = match closeness.get(1).map(|c| c[i]) {
                    Some(in_context) if context.pointer => in_context,
                    Some(in_context) if in_context.total() > alone.total() => in_context,
                    _ => alone,
                };
                let score = self.score(a, question, context);
                let terms: Vec<(&String, f32)> = own.iter().map(|t| (t, 1.0)).collect();
                (
                    read.total(),
                    [read.question, read.passage, read.sentence],
                    score,
                    self.coverage(a, &terms),
                )
            })
            .collect();
        let fused: Vec<f32> = per_article
            .iter()
            .map(|(dense, _, score, _)| dense + confidence::LEXICAL_IN_RANKING * score.confidence)
            .collect();
        let mut order: Vec<usize> = (0..fused.len()).collect();
        order.sort_by(|&x, &y| fused[y].total_cmp(&fused[x]));
        let best = order[0];
        let runner_up = order.get(1).map_or(0.0, |&i| fused[i]);
        let dense: Vec<f32> = per_article.iter().map(|p| p.0).collect();
        let mean = dense.iter().sum::<f32>() / dense.len() as f32;
        let spread =
            (dense.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / dense.len() as f32).sqrt();
        let first_by = |value: &dyn Fn(usize) -> f32| {
            (0..per_article.len()).max_by(|&x, &y| value(x).total_cmp(&value(y))) == Some(best)
        };
        let agreement = [
            first_by(&|i| per_article[i].1[0]),
            first_by(&|i| per_article[i].1[1]),
            first_by(&|i| per_article[i].1[2]),
            first_by(&|i| per_article[i].2.confidence),
        ]
        .into_iter()
        .filter(|agrees| *agrees)
        .count();
        let (_, _, score, coverage) = per_article[best];
        let features = confidence::Features {
            closeness: dense[best] / 3.0,
            margin: fused[best] - runner_up,
            lexical: score.confidence,
            coverage,
            standout: if spread > 0.0 {
                (dense[best] - mean) / spread
            } else {
                0.0
            },
            agreement: agreement as f32,
            leans: if context.terms.is_empty() && !context.pointer {
                0.0
            } else {
                1.0
            },
            uncovered: self.known_share(text) * (1.0 - coverage),
        };
        let article = &self.articles[best];
        // Close behind by the same ranking: what the visitor may mean
        // instead, offered if the engine asks.
        let contenders = order[1..]
            .iter()
            .take(crate::handoff::MAX_CHOICES - 1)
            .filter(|&&i| fused[best] - fused[i] <= confidence::CLOSE_BEHIND)
            .map(|&i| self.articles[i].title.clone())
            .collect();
        let candidate = Candidate {
            text: article.body.clone(),
            confidence: confidence::calibrated(&features),
            articles: vec![article.title.clone()],
            contenders,
            ..Candidate::default()
        };
        (candidate, features)
    }
}

/// One article's signals for a turn (see [`KnowledgeBase::explain`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Signals {
    pub title: String,
    /// The lexical confidence (module docs).
    pub lexical: f32,
    /// The idf-weighted share of the turn's terms the article has.
    pub coverage: f32,
    pub title_coverage: f32,
    pub bm25: f32,
    /// The turn leans on earlier ones.
    pub leans: bool,
    pub closeness: Option<semantic::Closeness>,
    pub closeness_in_context: Option<semantic::Closeness>,
}

/// What a follow-up leans on.
#[derive(Debug, Default)]
struct Context {
    terms: Vec<String>,
    /// The turn points back with a pronoun, so it cannot stand alone.
    pointer: bool,
    /// The earlier turns it leans on, oldest first.
    texts: Vec<String>,
}

/// A reply to a turn that is only a greeting or thanks.
fn small_talk(text: &str) -> Option<Candidate> {
    let ws = words(&fold(text));
    if ws.is_empty() {
        return None;
    }
    let reply = if ws.iter().all(|w| GREETINGS.contains(&w.as_str())) {
        "Hello! What can I help you with?"
    } else if ws
        .iter()
        .all(|w| THANKS.contains(&w.as_str()) || GREETINGS.contains(&w.as_str()))
    {
        "You're welcome! Is there anything else I can help you with?"
    } else {
        return None;
    };
    Some(Candidate {
        text: reply.into(),
        confidence: 1.0,
        articles: Vec::new(),
        ..Candidate::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handoff::Turn;

    const SHOP: &str = include_str!("../../../eval/kb-shop.md");

    fn kb() -> KnowledgeBase {
        KnowledgeBase::parse(SHOP).unwrap()
    }

    fn ask(kb: &KnowledgeBase, turns: &[&str]) -> Candidate {
        let mut history = Vec::new();
        let (last, earlier) = turns.split_last().unwrap();
        for t in earlier {
            let answer = kb.answer(&history, t);
            history.push(Exchange {
                turn: Turn {
                    text: t.to_string(),
                    ..Turn::default()
                },
                answer: Some(answer),
            });
        }
        kb.answer(&history, last)
    }

    #[test]
    fn parses_articles() {
        let kb = kb();
        assert_eq!(kb.articles(), 14);
        assert_eq!(kb.language(), Language::English);
        let c = ask(&kb, &["How do I reset my password?"]);
        assert_eq!(c.articles, ["How do I reset my password?"]);
        assert!(c.text.starts_with("Click \"Forgot password\""));
        assert!(c.text.ends_with("24 hours."));
    }

    #[test]
    fn parse_errors_name_the_article() {
        assert_eq!(KnowledgeBase::parse("").unwrap_err(), KnowledgeError::Empty);
        assert_eq!(
            KnowledgeBase::parse("# Title\n\nJust text.\n").unwrap_err(),
            KnowledgeError::Empty
        );
        let e =
            KnowledgeBase::parse("# T\n## First?\nYes.\n## Second?\n\n## Third?\nNo.").unwrap_err();
        assert_eq!(
            e,
            KnowledgeError::NoBody {
                title: "Second?".into(),
                line: 4
            }
        );
        assert_eq!(
            e.to_string(),
            "line 4: article \"Second?\" has no answer text under its heading"
        );
        assert_eq!(
            KnowledgeBase::parse("## \nText").unwrap_err(),
            KnowledgeError::Untitled { line: 1 }
        );
    }

    #[test]
    fn phrasings_are_more_ways_to_ask_not_part_of_the_answer() {
        let md = "## Which payment methods do you accept?\n? do you take plastic\n? kann ich mit karte zahlen\nVisa and Mastercard.\n\n## How long does shipping take?\nTwo days.\n";
        let kb = KnowledgeBase::parse(md).unwrap();
        let c = ask(&kb, &["do you take plastic"]);
        assert_eq!(c.articles, ["Which payment methods do you accept?"]);
        assert_eq!(
            c.text, "Visa and Mastercard.",
            "the phrasings are not shown"
        );
        assert!(c.confidence >= 0.85, "{c:?}");
        let without = KnowledgeBase::parse(&md.replace("? do you take plastic\n", "")).unwrap();
        assert!(ask(&without, &["do you take plastic"]).confidence < c.confidence);
        // A "? " line in a code block is text.
        let fenced =
            KnowledgeBase::parse("## How do I script it?\n```\n? not a phrasing\n```\n").unwrap();
        assert!(ask(&fenced, &["script"]).text.contains("? not a phrasing"));
    }

    fn lesson(article: &str, phrasing: &str, answer: Option<&str>) -> baton_shared::Lesson {
        baton_shared::Lesson {
            article: article.into(),
            phrasing: phrasing.into(),
            answer: answer.map(Into::into),
            by: baton_shared::AgentRef {
                id: 1,
                name: "Mia".into(),
            },
            at: 0,
        }
    }

    #[test]
    fn a_lesson_is_one_more_way_of_asking_and_only_that_moves() {
        let kb = kb();
        let wording = "Will my sneakers be with me before the weekend?";
        let before = ask(&kb, &[wording]);
        assert!(before.confidence < 0.5, "{before:?}");
        let shipping = "How long does shipping take?";
        let learned = kb.with_lessons(&[lesson(shipping, wording, None)]).unwrap();
        assert_eq!(learned.unmatched, 0);
        let taught = &learned.kb;
        let after = ask(taught, &[wording]);
        assert_eq!(after.articles, [shipping]);
        assert!(after.confidence >= 0.85, "{after:?}");
        assert!(!after.text.contains(wording), "a phrasing is not shown");
        // Other questions are answered as before.
        for q in [
            "Do you accept Bitcoin?",
            "Can I pay with PayPal?",
            "Where is my parcel?",
        ] {
            let (was, is) = (ask(&kb, &[q]), ask(taught, &[q]));
            assert_eq!(
                (was.articles, was.confidence),
                (is.articles, is.confidence),
                "{q}"
            );
        }
        // The Markdown's knowledge base is left as it was.
        assert_eq!(ask(&kb, &[wording]).confidence, before.confidence);
        let refs = taught.article_refs(kb.articles());
        let refs: Vec<_> = refs.iter().filter(|a| a.title == shipping).collect();
        assert_eq!(refs[0].phrasings, [wording]);
        assert!(!refs[0].taught);
    }

    #[test]
    fn a_lesson_with_an_answer_writes_an_article_and_one_for_a_gone_article_is_left_out() {
        let kb = kb();
        let learned = kb
            .with_lessons(&[
                lesson(
                    "Do you resole shoes?",
                    "can you fix worn soles",
                    Some("Yes: our Berlin store resoles leather shoes in about two weeks."),
                ),
                lesson("An article that was renamed", "anything", None),
                // Taught twice (two nodes, a retried frame): one phrasing.
                lesson("Do you resole shoes?", "can you fix worn soles", None),
            ])
            .unwrap();
        assert_eq!(learned.unmatched, 1);
        assert_eq!(learned.kb.articles(), kb.articles() + 1);
        let c = ask(&learned.kb, &["can you fix worn soles"]);
        assert_eq!(c.articles, ["Do you resole shoes?"]);
        assert!(c.text.starts_with("Yes: our Berlin store"), "{c:?}");
        let refs = learned.kb.article_refs(kb.articles());
        let new = refs.last().unwrap();
        assert_eq!(
            (new.title.as_str(), new.taught),
            ("Do you resole shoes?", true)
        );
        assert_eq!(new.phrasings, ["can you fix worn soles"]);
    }

    #[test]
    fn headings_in_code_blocks_and_subheadings_stay_in_the_body() {
        let kb = KnowledgeBase::parse(
            "## How do I script it?\n```\n## not a heading\n```\n### Details\nMore.\n",
        )
        .unwrap();
        assert_eq!(kb.articles(), 1);
        assert!(ask(&kb, &["script"]).text.contains("### Details"));
    }

    #[test]
    fn separates_answered_from_unanswered_questions() {
        let kb = kb();
        let answered = [
            "How long does shipping take to Germany?",
            "Hi! what's your return policy?",
            "Can I pay with PayPal?",
            "I forgot my password, how do I reset it?",
            "Do you ship to Canada?",
            "How do refunds work? It's only about 20 EUR.",
            "Where is my parcel?",
            "Where is my order?",
            "Do you have a store in Berlin?",
            "Do you sell gift cards?",
            "How should I clean leather shoes?",
            "Can I cancel my order?",
            "How much is express shipping?",
            "How long does shiping take?",
        ];
        for q in answered {
            let c = ask(&kb, &[q]);
            assert!(c.confidence >= 0.85, "{q}: {c:?}");
        }
        let unanswered = [
            "Do you accept Bitcoin?",
            "Is there a two-year warranty on the soles?",
            "What's the weather like in Lisbon tomorrow?",
            "Do you sell handbags?",
            "Can I get a discount for students?",
            "Wie lange dauert der Versand?",
            "asdfghjkl",
        ];
        for q in unanswered {
            let c = ask(&kb, &[q]);
            assert!(c.confidence <= 0.7, "{q}: {c:?}");
        }
    }

    #[test]
    fn follow_ups_use_the_previous_turn() {
        let kb = kb();
        let c = ask(
            &kb,
            &["Do you ship to Canada?", "And how much does it cost?"],
        );
        assert_eq!(c.articles, ["How much does shipping cost?"]);
        assert!(c.confidence >= 0.85, "{c:?}");
        let c = ask(
            &kb,
            &["Do you have a physical store?", "What about Saturdays?"],
        );
        assert_eq!(c.articles, ["Do you have a physical store?"]);
        assert!(c.confidence >= 0.85, "{c:?}");
        let c = ask(
            &kb,
            &[
                "Do you have a store in Berlin?",
                "Can I bring my dog into the store?",
            ],
        );
        assert!(c.confidence <= 0.7, "{c:?}");
        let c = ask(&kb, &["How long does shipping take?", "Is it waterproof?"]);
        assert!(c.confidence <= 0.7, "context alone never answers: {c:?}");
        let c = ask(&kb, &["Do you offer gift cards?", "How much do they cost?"]);
        assert!(
            c.confidence < 0.75,
            "“they” are gift cards, not shipping: {c:?}"
        );
        let c = ask(&kb, &["How do refunds work?", "How long does that take?"]);
        assert!(
            c.confidence < 0.75,
            "the shipping time is not the refund time: {c:?}"
        );
        let c = ask(&kb, &["Do you ship to Canada?", "How long does it take?"]);
        assert_eq!(c.articles, ["How long does shipping take?"]);
        assert!(c.confidence >= 0.85, "{c:?}");
        let c = ask(&kb, &["How do refunds work?", "Where is my parcel?"]);
        assert_eq!(
            c.articles,
            ["How do I track my order?"],
            "a new topic is read on its own"
        );
        assert!(c.confidence >= 0.85, "{c:?}");
    }

    #[test]
    fn close_articles_are_contenders_and_a_picked_title_is_answered() {
        let kb = kb();
        // "shipping" alone fits three articles about as well.
        let vague = ask(&kb, &["shipping?"]);
        assert!(!vague.contenders.is_empty(), "{vague:?}");
        assert!(!vague.contenders.contains(&vague.articles[0]));
        // A clear question stands alone.
        let clear = ask(&kb, &["How do I reset my password?"]);
        assert!(clear.contenders.is_empty(), "{clear:?}");
        // After a clarifying question, the visitor's pick (the quick reply
        // sends the title) is answered with that article, for sure.
        let offered = vec![
            "How long does shipping take?".to_string(),
            "How much does shipping cost?".to_string(),
        ];
        let history = [Exchange {
            turn: Turn {
                text: "shipping?".into(),
                ..Turn::default()
            },
            answer: Some(Candidate {
                choices: offered.clone(),
                ..Candidate::default()
            }),
        }];
        let picked = kb.answer(&history, "how much does shipping cost?");
        assert_eq!(picked.articles, [offered[1].clone()]);
        assert_eq!(picked.confidence, 1.0);
        // A title that was not offered is just a question.
        let other = kb.answer(&history, "How do I track my order?");
        assert_eq!(other.articles, ["How do I track my order?"]);
    }

    #[test]
    fn small_talk_is_answered() {
        let kb = kb();
        for t in ["Hello", "hi there!", "Thanks!", "ok thank you", "Danke"] {
            let c = ask(&kb, &[t]);
            assert_eq!(c.confidence, 1.0, "{t}");
            assert!(c.articles.is_empty());
        }
        assert_eq!(ask(&kb, &[""]).confidence, 0.0);
        assert_eq!(ask(&kb, &["🙂"]).confidence, 0.0);
    }

    #[test]
    fn confidence_stays_in_range_on_odd_input() {
        let kb = kb();
        for t in [
            "",
            "??",
            "the the the",
            &"shipping ".repeat(2000),
            "ﷺ ǅ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "\u{0}\u{1}",
            "shipping\u{0301}",
        ] {
            let c = ask(&kb, &["Do you ship?", t]);
            assert!((0.0..=1.0).contains(&c.confidence), "{t}: {c:?}");
        }
    }
}
