//! The feedback loop the product is named for: an agent who judges that
//! the assistant could have answered a handoff teaches it the visitor's
//! wording — as one more way of asking an article's question, or with an
//! article the agent writes — and from the next turn on, on every node,
//! the assistant answers it.

use baton_shared::{AgentRef, ArticleRef, ConversationId, MAX_PHRASING_CHARS};

use super::{Desk, DeskError, Signal};
use crate::config::Backend;
use crate::store::NewLesson;

/// What an agent asks to teach, as the frame carried it.
#[derive(Debug, Clone, Copy)]
pub struct Teach<'a> {
    pub article: &'a str,
    pub phrasing: &'a str,
    /// A new article's answer.
    pub answer: Option<&'a str>,
}

impl Desk {
    /// The knowledge base's articles as agents pick one.
    pub fn articles(&self) -> Vec<ArticleRef> {
        let knowledge = &self.inner.knowledge;
        knowledge
            .current()
            .article_refs(knowledge.markdown_articles())
    }

    /// Stores the lesson, learns it on this node (the other nodes hear of
    /// it from the store), and shows it in the conversation's detail.
    /// Teaching the same wording twice changes nothing.
    pub async fn teach(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        teach: Teach<'_>,
    ) -> Result<(), DeskError> {
        self.row(id).await?;
        if self.inner.persona.backend == Backend::Webhook {
            return Err(DeskError::Conflict(
                "The assistant is the site's own bot (a webhook); it does not answer from the knowledge base, so it cannot be taught here.".into(),
            ));
        }
        let phrasing = line(teach.phrasing, "the wording")?;
        let article = line(teach.article, "the article's title")?;
        let kb = self.inner.knowledge.current();
        let answer = match teach.answer {
            None if !kb.has_article(&article) => {
                return Err(DeskError::Invalid(format!(
                    "The knowledge base has no article titled “{article}”."
                )));
            }
            None => None,
            Some(_) if kb.has_article(&article) => {
                return Err(DeskError::Conflict(format!(
                    "An article titled “{article}” exists already: teach the wording to it."
                )));
            }
            Some(answer) => {
                let answer = super::clean_text(answer, &self.inner.limits).map_err(|_| {
                    DeskError::Invalid(format!(
                        "The answer must have 1 to {} characters.",
                        self.inner.limits.max_text_chars
                    ))
                })?;
                Some(answer.trim().to_string())
            }
        };
        self.inner
            .store
            .teach(NewLesson {
                conversation: id,
                agent: agent.id,
                article: &article,
                phrasing: &phrasing,
                answer: answer.as_deref(),
                at: crate::clock::now(),
            })
            .await?;
        // Stored is kept: a lesson this node cannot embed now is learned
        // with the next one, or at the next start.
        self.inner.knowledge.learn_or_warn(&self.inner.store).await;
        self.inner.hub.signal(id, Signal::DetailChanged);
        Ok(())
    }
}

/// `text` on one line, checked: not empty, not over the limit.
fn line(text: &str, what: &str) -> Result<String, DeskError> {
    let text: String = text
        .chars()
        .filter(|&c| !super::is_hidden_control(c))
        .collect();
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars = line.chars().count();
    if chars == 0 || chars > MAX_PHRASING_CHARS {
        return Err(DeskError::Invalid(format!(
            "{what} must have 1 to {MAX_PHRASING_CHARS} characters"
        )));
    }
    Ok(line)
}
