//! Who the visitor says they are, and whether the host site vouched for it.
//!
//! A claim is verified only when the site signed it (`user_hash`); anything
//! else is what the visitor's browser said, so it is shown as a claim, with
//! a warning badge, never as a fact.

use baton_shared::domain::Identity;
use leptos::prelude::*;

use crate::format;

/// The visitor's name, email, id and tier, with the badge.
#[component]
pub fn Who(identity: Identity) -> impl IntoView {
    let verified = identity.verified;
    view! {
        <span class="who" class:unverified=!verified>
            <span class="claims">{format::identity(&identity)}</span>
            " "
            <Badge verified/>
        </span>
    }
}

#[component]
pub fn Badge(verified: bool) -> impl IntoView {
    let (class, text, title) = if verified {
        (
            "badge verified",
            "✓ Verified",
            "Signed by your site: this is the signed-in customer.",
        )
    } else {
        (
            "badge unverified",
            "⚠ Unverified",
            "Not signed by your site: anyone could have typed this. Do not trust it for account changes.",
        )
    };
    view! {
        <span class=class data-console="verified" data-verified=verified.to_string() title=title>
            {text}
        </span>
    }
}
