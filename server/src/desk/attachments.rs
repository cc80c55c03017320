//! Files in a conversation: an upload is stored (file, then row) for one
//! conversation; an `attach` frame from the visitor or the holding agent
//! puts it in the log, where everyone sees it. A visitor's attachment is a
//! turn like a message, judged by the same engine: an audio file (a voice
//! message) meets the policy's attachment rule; an image or a document is
//! nothing the assistant can answer from, so its confidence hands off
//! (`eval/extra-cases.jsonl`, `saas-conf-image`).

use axum::body::Bytes;
use baton_shared::{AgentId, AgentRef, Attachment, ConversationId, EventBody};

use super::{Desk, DeskError, check_client_id};
use crate::store::{Appended, Guard, HandoffWrite, Transition, Upload};
use crate::{attachments, secret};

use baton_shared::ConversationState::Human;

impl Desk {
    /// The conversation a visitor's token opens.
    pub async fn conversation_of(&self, token: &str) -> Result<ConversationId, DeskError> {
        Ok(self
            .inner
            .store
            .conversation_by_token(&secret::digest(token))
            .await?
            .ok_or(DeskError::UnknownToken)?
            .id)
    }

    /// Stores an upload that passed [`attachments::check`]: the file first
    /// (flushed), then its row; acknowledged only after both.
    /// An agent uploads only into a conversation they hold (what they
    /// upload is for sharing there; anyone else's is refused before any
    /// byte is stored).
    pub async fn may_upload(&self, id: ConversationId, agent: &AgentRef) -> Result<(), DeskError> {
        let row = self.row(id).await?;
        let holds = row.state == baton_shared::ConversationState::Human
            && row.agent.as_ref().is_some_and(|a| a.id == agent.id);
        if holds {
            Ok(())
        } else {
            Err(super::team::refusal(&row, "send a file to"))
        }
    }

    pub async fn store_upload(
        &self,
        conversation: ConversationId,
        agent: Option<AgentId>,
        name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Attachment, DeskError> {
        let attachment = Attachment {
            id: secret::new_token(),
            name: name.to_string(),
            content_type: content_type.to_string(),
            size: bytes.len() as u64,
        };
        let dir = self.inner.attachments.dir.clone();
        let id = attachment.id.clone();
        tokio::task::spawn_blocking(move || attachments::write(&dir, &id, &bytes))
            .await
            .map_err(|e| DeskError::Internal(format!("storing the file: {e}")))?
            .map_err(|e| DeskError::Internal(e.to_string()))?;
        let upload = Upload {
            attachment: attachment.clone(),
            conversation,
            agent,
        };
        self.inner
            .store
            .add_upload(&upload, crate::clock::now())
            .await?;
        Ok(attachment)
    }

    /// An upload and its open file, for serving (streamed, not read
    /// whole into memory).
    pub async fn read_upload(
        &self,
        id: &str,
    ) -> Result<Option<(Attachment, tokio::fs::File)>, DeskError> {
        let Some(path) = attachments::path(&self.inner.attachments.dir, id) else {
            return Ok(None);
        };
        let Some(upload) = self.inner.store.upload(id).await? else {
            return Ok(None);
        };
        match tokio::fs::File::open(&path).await {
            Ok(file) => Ok(Some((upload.attachment, file))),
            Err(e) => {
                tracing::error!(id, %e, "an attachment's file is missing");
                Ok(None)
            }
        }
    }

    /// The upload `id`, if it was uploaded to `conversation` by `agent`
    /// (`None`: the visitor).
    async fn own_upload(
        &self,
        conversation: ConversationId,
        agent: Option<AgentId>,
        id: &str,
    ) -> Result<Attachment, DeskError> {
        match self.inner.store.upload(id).await? {
            Some(upload) if upload.conversation == conversation && upload.agent == agent => {
                Ok(upload.attachment)
            }
            _ => Err(DeskError::Invalid(format!(
                "no upload {id:?} of yours in this conversation"
            ))),
        }
    }

    /// The visitor shares their upload. Returns the `seq` it is stored at
    /// and whether it is new (not a retry).
    pub async fn visitor_attach(
        &self,
        id: ConversationId,
        client_id: &str,
        upload: &str,
    ) -> Result<super::Posted, DeskError> {
        check_client_id(client_id)?;
        let attachment = self.own_upload(id, None, upload).await?;
        let body = EventBody::VisitorAttachment {
            client_id: client_id.into(),
            attachment,
        };
        self.post_as_visitor(id, body).await
    }

    /// The agent holding the conversation shares their upload.
    pub async fn agent_attach(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        client_id: &str,
        upload: &str,
    ) -> Result<u64, DeskError> {
        check_client_id(client_id)?;
        let attachment = self.own_upload(id, Some(agent.id), upload).await?;
        let body = EventBody::AgentAttachment {
            name: agent.name.clone(),
            client_id: client_id.into(),
            attachment,
        };
        match self
            .commit(
                id,
                Guard::held_by(&[Human], agent.id),
                Transition::Keep,
                &[body],
                HandoffWrite::HumanReplied,
            )
            .await?
        {
            Appended::Stored(events) => Ok(events[0].seq),
            Appended::Duplicate(seq) => Ok(seq),
            Appended::Refused(row) => Err(super::team::refusal(&row, "send a file to")),
            Appended::ClientIdTaken => Err(DeskError::client_id_taken()),
        }
    }
}
