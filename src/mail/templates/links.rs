//! The links mails carry, in the reference server's shapes: the validation link, the
//! `sign-ed25519` link and the web client's invite link. Every value is percent-encoded as
//! Python's `urllib.parse.quote` does, so the links are sydent's byte for byte.

use super::context::InviteContext;
use crate::mail::text::python_quote;

/// The link placed in validation emails, in the reference server's shape:
/// `{base}/_matrix/identity/v2/validate/email/submitToken?token=…&client_secret=…&sid=…`
/// plus, when a `next_link` was given, `&nextLink=` with `sid=<sid>` appended to it.
pub fn verification_link(
    base_url: &str,
    sid: &str,
    token: &str,
    client_secret: &str,
    next_link: Option<&str>,
) -> String {
    let mut link = format!(
        "{}/_matrix/identity/v2/validate/email/submitToken?token={}&client_secret={}&sid={}",
        base_url.trim_end_matches('/'),
        python_quote(token),
        python_quote(client_secret),
        python_quote(sid),
    );
    if let Some(next) = next_link.filter(|n| !n.is_empty()) {
        let separator = if next.contains('?') { '&' } else { '?' };
        let next = format!("{next}{separator}sid={}", python_quote(sid));
        link.push_str("&nextLink=");
        link.push_str(&python_quote(&next));
    }
    link
}

/// Where the invitee's client asks this server to sign the invite (`base` without a
/// trailing `/`).
pub(super) fn sign_url(base: &str, token: &str, private_key: &str) -> String {
    format!(
        "{base}/_matrix/identity/v2/sign-ed25519?token={}&private_key={}",
        python_quote(token),
        python_quote(private_key)
    )
}

/// The web client's page for the invite, with what it shows before the invitee signs in.
pub(super) fn invite_link(ctx: &InviteContext) -> String {
    format!(
        "{}/#/room/{}?email={}&signurl={}&room_name={}&room_avatar_url={}\
         &inviter_name={}&guest_access_token={}&guest_user_id={}&room_type={}",
        ctx.web_client_location,
        python_quote(&ctx.room_id),
        python_quote(&ctx.standard.to),
        python_quote(&ctx.sign_url),
        python_quote(&ctx.room_name),
        python_quote(&ctx.room_avatar_url),
        python_quote(&ctx.sender_display_name),
        python_quote(&ctx.guest_access_token),
        python_quote(&ctx.guest_user_id),
        python_quote(&ctx.room_type),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_link_shape() {
        assert_eq!(
            verification_link(
                "https://is.example/",
                "42",
                "tok",
                "s3cr=t",
                Some("https://app.example/x?y=1")
            ),
            "https://is.example/_matrix/identity/v2/validate/email/submitToken?token=tok&client_secret=s3cr%3Dt&sid=42\
             &nextLink=https%3A//app.example/x%3Fy%3D1%26sid%3D42"
        );
    }
}
