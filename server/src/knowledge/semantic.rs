//! The knowledge base embedded: each article as a passage (title and
//! answer) and each of its questions (title and phrasings) as a query, so
//! a visitor's turn can be compared by meaning, in any language the model
//! knows.

use super::Article;
use super::embedding::{EmbedError, Embedder, Kind, VectorCache, cosine};

pub struct Semantic {
    embedder: Embedder,
    /// Per article: title and answer, as a passage.
    passages: Vec<Vec<f32>>,
    /// Per article: its questions, as queries.
    questions: Vec<Vec<Vec<f32>>>,
    /// Per article: each sentence of its answer, as a passage (a question
    /// about one detail is closest to the sentence that gives it).
    sentences: Vec<Vec<Vec<f32>>>,
}

impl std::fmt::Debug for Semantic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semantic")
            .field("model", &self.embedder.fingerprint())
            .field("articles", &self.passages.len())
            .finish()
    }
}

/// How close a turn is to one article, by meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Closeness {
    /// To the closest of its questions (query to query).
    pub question: f32,
    /// To its title and answer (query to passage).
    pub passage: f32,
    /// To the closest sentence of its answer.
    pub sentence: f32,
}

impl Closeness {
    /// The three together: each catches paraphrases the others miss
    /// (measured on the tuning sets, `eval/sets/README.md`).
    pub fn total(&self) -> f32 {
        self.question + self.passage + self.sentence
    }
}

impl Semantic {
    /// Embeds `articles` (vectors the cache has are read, not computed).
    /// Returns it and how many texts were computed.
    pub(super) fn build(
        embedder: Embedder,
        articles: &[Article],
        cache: &VectorCache,
    ) -> Result<(Self, usize), EmbedError> {
        let passages: Vec<String> = articles.iter().map(Article::passage).collect();
        let (passages, computed_passages) = cache.vectors(&embedder, &passages, Kind::Passage)?;
        let asked: Vec<String> = articles
            .iter()
            .flat_map(|a| a.questions().map(str::to_owned))
            .collect();
        let (asked, computed_questions) = cache.vectors(&embedder, &asked, Kind::Query)?;
        let questions = regroup(asked, articles.iter().map(|a| a.questions().count()));
        let said: Vec<Vec<String>> = articles.iter().map(|a| sentences_of(&a.body)).collect();
        let flat: Vec<String> = said.iter().flatten().cloned().collect();
        let (flat, computed_sentences) = cache.vectors(&embedder, &flat, Kind::Passage)?;
        let sentences = regroup(flat, said.iter().map(Vec::len));
        Ok((
            Self {
                embedder,
                passages,
                questions,
                sentences,
            },
            computed_passages + computed_questions + computed_sentences,
        ))
    }

    /// The same embedding for `articles`, which are `base` (the articles
    /// this was built for, in order) with more phrasings and possibly new
    /// articles after them: what `base` had is reused, only the rest is
    /// computed (a lesson costs one embedding, not the whole knowledge
    /// base).
    pub(super) fn extend(
        &self,
        base: &[Article],
        articles: &[Article],
    ) -> Result<Self, EmbedError> {
        let mut passages = self.passages.clone();
        let mut questions = self.questions.clone();
        let mut sentences = self.sentences.clone();
        // New questions of base articles, and everything of new ones.
        let mut asked: Vec<String> = Vec::new();
        for (i, article) in articles.iter().enumerate() {
            let known = base.get(i).map_or(0, |b| b.questions().count());
            asked.extend(article.questions().skip(known).map(str::to_owned));
        }
        let new = articles.get(base.len()..).unwrap_or_default();
        let new_passages: Vec<String> = new.iter().map(Article::passage).collect();
        let said: Vec<Vec<String>> = new.iter().map(|a| sentences_of(&a.body)).collect();
        let flat: Vec<String> = said.iter().flatten().cloned().collect();
        let mut asked = self.embed(&asked, Kind::Query)?.into_iter();
        for (i, article) in articles.iter().enumerate() {
            let known = base.get(i).map_or(0, |b| b.questions().count());
            let more = article.questions().count().saturating_sub(known);
            let vectors = asked.by_ref().take(more);
            match questions.get_mut(i) {
                Some(q) => q.extend(vectors),
                None => questions.push(vectors.collect()),
            }
        }
        passages.extend(self.embed(&new_passages, Kind::Passage)?);
        sentences.extend(regroup(
            self.embed(&flat, Kind::Passage)?,
            said.iter().map(Vec::len),
        ));
        Ok(Self {
            embedder: self.embedder.clone(),
            passages,
            questions,
            sentences,
        })
    }

    fn embed(&self, texts: &[String], kind: Kind) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.embedder.embed(texts, kind)
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// For each of `texts` (a turn, and the turn read with what it leans
    /// on), its closeness to every article.
    pub fn closeness(&self, texts: &[String]) -> Result<Vec<Vec<Closeness>>, EmbedError> {
        let vectors = self.embedder.embed(texts, Kind::Query)?;
        Ok(vectors
            .iter()
            .map(|q| {
                let closest = |vectors: &[Vec<f32>]| {
                    vectors.iter().map(|v| cosine(q, v)).fold(-1.0, f32::max)
                };
                self.passages
                    .iter()
                    .zip(&self.questions)
                    .zip(&self.sentences)
                    .map(|((passage, questions), sentences)| Closeness {
                        question: closest(questions),
                        passage: cosine(q, passage),
                        // An answer of one sentence is its passage.
                        sentence: if sentences.is_empty() {
                            cosine(q, passage)
                        } else {
                            closest(sentences)
                        },
                    })
                    .collect()
            })
            .collect())
    }
}

/// Splits a flat list back into groups of the given sizes, in order.
fn regroup(flat: Vec<Vec<f32>>, sizes: impl Iterator<Item = usize>) -> Vec<Vec<Vec<f32>>> {
    let mut flat = flat.into_iter();
    sizes.map(|n| flat.by_ref().take(n).collect()).collect()
}

/// The sentences of an answer: split after `.`, `!` or `?` followed by a
/// space and a capital, and at line breaks; list markers and very short bits dropped.
pub fn sentences_of(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in body.lines() {
        let line = line.trim().trim_start_matches(['-', '*', '#', '>']).trim();
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (k, &(i, c)) in chars.iter().enumerate() {
            // A sentence ends where the next one starts: a space, then a
            // capital ("e.g. 4.90" goes on).
            let next_is_space = chars.get(k + 1).is_some_and(|(_, n)| n.is_whitespace());
            let then_capital = chars.get(k + 2).is_some_and(|(_, n)| n.is_uppercase());
            if matches!(c, '.' | '!' | '?') && next_is_space && then_capital {
                out.push(line[start..=i].trim().to_string());
                start = i + 1;
            }
        }
        out.push(line[start..].trim().to_string());
    }
    out.retain(|s| s.chars().filter(|c| c.is_alphanumeric()).count() >= 4);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_split_into_sentences() {
        assert_eq!(
            sentences_of("We ship in 2–4 days. Express is next day!\n- Free over 50 EUR\n\nOk."),
            [
                "We ship in 2–4 days.",
                "Express is next day!",
                "Free over 50 EUR"
            ]
        );
        assert_eq!(
            sentences_of("Prices e.g. 4.90 EUR apply"),
            ["Prices e.g. 4.90 EUR apply"]
        );
    }

    #[test]
    fn groups_come_back_in_order() {
        let flat = vec![vec![1.0], vec![2.0], vec![3.0]];
        assert_eq!(
            regroup(flat, [1, 0, 2].into_iter()),
            [vec![vec![1.0]], vec![], vec![vec![2.0], vec![3.0]]]
        );
    }
}
