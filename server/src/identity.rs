//! Trusting what the host site says about a visitor, the way Intercom's
//! identity verification does: the site's backend computes
//! `user_hash = hex(HMAC-SHA256(identity_secret, user_id))` and the page
//! passes it with the claim. A claim whose hash checks out is verified;
//! any other is kept for the agent to see, marked unverified, and never
//! lets a policy rule (such as a priority tier) fire.

use baton_shared::{Identity, IdentityClaim};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAX_USER_ID: usize = 256;
const MAX_NAME: usize = 200;
const MAX_EMAIL: usize = 254;
const MAX_TIER: usize = 64;

/// Checks a claim's fields and its hash. `Err` names a field that is too
/// long or empty.
pub fn verify(claim: &IdentityClaim, secret: Option<&str>) -> Result<Identity, String> {
    check("user_id", Some(&claim.user_id), MAX_USER_ID)?;
    if claim.user_id.trim().is_empty() {
        return Err("identity.user_id must not be empty".into());
    }
    check("name", claim.name.as_ref(), MAX_NAME)?;
    check("email", claim.email.as_ref(), MAX_EMAIL)?;
    check("tier", claim.tier.as_ref(), MAX_TIER)?;
    let verified = match (secret, &claim.user_hash) {
        (Some(secret), Some(hash)) => hash_matches(secret, &claim.user_id, hash),
        _ => false,
    };
    Ok(Identity {
        user_id: Some(claim.user_id.clone()),
        name: claim.name.clone(),
        email: claim.email.clone(),
        tier: claim.tier.clone(),
        verified,
    })
}

/// What the host's backend computes; public so docs and tests can show it.
pub fn user_hash(secret: &str, user_id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(user_id.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time comparison of the expected MAC with the claimed one.
fn hash_matches(secret: &str, user_id: &str, hash: &str) -> bool {
    let Some(claimed) = decode_hex(hash) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(user_id.as_bytes());
    mac.verify_slice(&claimed).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || hex.len() > 128 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

fn check(field: &str, value: Option<&String>, max: usize) -> Result<(), String> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(format!("identity.{field} is longer than {max} characters"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(hash: Option<String>) -> IdentityClaim {
        IdentityClaim {
            user_id: "u-42".into(),
            name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            tier: Some("tier-1".into()),
            user_hash: hash,
        }
    }

    #[test]
    fn a_correct_hash_verifies() {
        let identity = verify(
            &claim(Some(user_hash("site-secret", "u-42"))),
            Some("site-secret"),
        )
        .unwrap();
        assert!(identity.verified);
        assert_eq!(identity.tier.as_deref(), Some("tier-1"));
        // Upper-case hex is the same MAC.
        let upper = user_hash("site-secret", "u-42").to_uppercase();
        assert!(
            verify(&claim(Some(upper)), Some("site-secret"))
                .unwrap()
                .verified
        );
    }

    #[test]
    fn wrong_missing_or_malformed_hashes_do_not() {
        for hash in [
            Some(user_hash("other-secret", "u-42")),
            Some(user_hash("site-secret", "u-43")),
            None,
            Some("zz".into()),
            Some("abc".into()),
            Some(String::new()),
        ] {
            let identity = verify(&claim(hash.clone()), Some("site-secret")).unwrap();
            assert!(!identity.verified, "{hash:?}");
            assert_eq!(identity.name.as_deref(), Some("Ada"), "kept, unverified");
        }
        let no_secret = verify(&claim(Some(user_hash("site-secret", "u-42"))), None).unwrap();
        assert!(
            !no_secret.verified,
            "nothing verifies without a configured secret"
        );
    }

    #[test]
    fn oversized_or_empty_fields_are_refused() {
        let mut long = claim(None);
        long.name = Some("x".repeat(201));
        assert!(verify(&long, None).unwrap_err().contains("identity.name"));
        let empty = IdentityClaim {
            user_id: " ".into(),
            ..claim(None)
        };
        assert!(verify(&empty, None).unwrap_err().contains("user_id"));
    }
}
