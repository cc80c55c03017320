//! Signed, expiring, single-use "Resume assistant" links.
//!
//! The token carries the conversation, the handoff, the expiry and a
//! random nonce, with an HMAC-SHA256 over them. The signature proves the
//! server made it and it was not altered; the expiry is checked against the
//! clock; single use comes from the store, which clears the handoff's nonce
//! in the same transaction that hands the conversation back.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_shared::{ConversationId, Millis};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Signs and checks links with the server's secret.
#[derive(Clone)]
pub struct Signer {
    key: std::sync::Arc<[u8]>,
}

/// What a resume link says.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeClaim {
    pub conversation: ConversationId,
    pub handoff: i64,
    pub expires_at: Millis,
    pub nonce: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

impl Signer {
    pub fn new(secret: &str) -> Self {
        Self {
            key: secret.as_bytes().into(),
        }
    }

    pub fn resume_token(&self, claim: &ResumeClaim) -> String {
        let payload = format!(
            "{}.{}.{}.{}",
            claim.conversation, claim.handoff, claim.expires_at, claim.nonce
        );
        let signature = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// Checks the signature (in constant time) and then the expiry.
    pub fn verify(&self, token: &str, now: Millis) -> Result<ResumeClaim, LinkError> {
        let (payload, signature) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        self.mac(&payload)
            .verify_slice(&signature)
            .map_err(|_| LinkError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Invalid)?;
        let mut parts = payload.splitn(4, '.');
        let mut number = || {
            parts
                .next()
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or(LinkError::Invalid)
        };
        let (conversation, handoff, expires_at) = (number()?, number()?, number()?);
        let nonce = parts.next().ok_or(LinkError::Invalid)?.to_string();
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(ResumeClaim {
            conversation,
            handoff,
            expires_at,
            nonce,
        })
    }

    /// HMAC-SHA256 of `body` in lowercase hex, for webhook signatures.
    pub fn hex_signature(key: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ResumeClaim {
        ResumeClaim {
            conversation: 7,
            handoff: 3,
            expires_at: 1_000,
            nonce: "n0nce-_x".into(),
        }
    }

    #[test]
    fn a_token_round_trips_until_it_expires() {
        let signer = Signer::new("a secret of some length");
        let token = signer.resume_token(&claim());
        assert_eq!(signer.verify(&token, 999), Ok(claim()));
        assert_eq!(signer.verify(&token, 1_000), Err(LinkError::Expired));
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let signer = Signer::new("a secret of some length");
        let token = signer.resume_token(&claim());
        let (payload, signature) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode("8.3.1000.n0nce-_x");
        for bad in [
            format!("{forged_payload}.{signature}"),
            format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            payload.to_string(),
            "".to_string(),
            "..".to_string(),
            Signer::new("another secret entirely").resume_token(&claim()),
        ] {
            assert_eq!(signer.verify(&bad, 0), Err(LinkError::Invalid), "{bad}");
        }
    }

    #[test]
    fn webhook_signatures_match_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            Signer::hex_signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
