//! The README's newcomer walkthrough, end to end: no SMTP configured (mails land in the outbox
//! folder), validate an email from the mail's link, bind it, look it up both ways, store an
//! invite and find its mail — then restart and find everything still there.

use crate::common::{TestApp, outbox, token_from_mail};
use serde_json::json;

fn link_from_mail(mail: &str) -> String {
    // Quoted-printable soft breaks would split the link; the built-in template keeps it whole.
    let start = mail.find("http").expect("a link in the mail");
    mail[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .expect("link")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn newcomer_flow_with_the_outbox_folder() {
    let mut app = TestApp::start_with(|c| c.email.smtp = None).await;

    // 1. Ask for a validation mail (v1: no account needed).
    let r = app
        .post(
            "emailRequestToken",
            "/_matrix/identity/api/v1/validate/email/requestToken",
            json!({"email": "Newcomer@Example.ORG", "client_secret": "walk-1", "send_attempt": 1}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let sid = r.json["sid"].as_str().expect("sid").to_string();
    let mails = outbox(&app);
    assert_eq!(mails.len(), 1, "one mail in the outbox");
    assert!(
        mails[0].contains("newcomer@example.org"),
        "sent to the folded address"
    );

    // 2. Follow the link in the mail, as a browser would.
    let link = link_from_mail(&mails[0]);
    assert!(link.starts_with(&app.base), "{link}");
    assert_eq!(token_from_mail(&link), token_from_mail(&mails[0]));
    let page = app.client.get(&link).send().await.expect("follow link");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );

    // 3. Bind it.
    let r = app
        .post(
            "bind",
            "/_matrix/identity/api/v1/3pid/bind",
            json!({"sid": sid, "client_secret": "walk-1", "mxid": "@newcomer:hs.example"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["address"], "newcomer@example.org");

    // 4. Look it up both ways.
    let r = app
        .get(
            "lookupUser",
            "/_matrix/identity/api/v1/lookup?medium=email&address=newcomer%40example.org",
            None,
        )
        .await;
    assert_eq!(r.json["mxid"], "@newcomer:hs.example");
    let r = app
        .post(
            "lookupUsers",
            "/_matrix/identity/api/v1/bulk_lookup",
            json!({"threepids": [["email", "newcomer@example.org"], ["email", "nobody@example.org"]]}),
            None,
        )
        .await;
    assert_eq!(
        r.json["threepids"],
        json!([["email", "newcomer@example.org", "@newcomer:hs.example"]])
    );

    // 5. Store an invite for someone else and find its mail.
    let r = app
        .post(
            "storeInvite",
            "/_matrix/identity/api/v1/store-invite",
            json!({"medium": "email", "address": "friend@example.org", "room_id": "!room:hs.example",
                   "sender": "@newcomer:hs.example", "room_name": "Walkthrough Room",
                   "sender_display_name": "Newcomer"}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let invite_token = r.json["token"].as_str().expect("token").to_string();
    let mails = outbox(&app);
    assert_eq!(mails.len(), 2);
    assert!(mails[1].contains("friend@example.org") && mails[1].contains("Walkthrough Room"));

    // 6. Restart: the binding, the invite (its ephemeral key) and the pepper are all kept.
    let pepper_before = app.store().lookup_pepper().await.expect("pepper read");
    let ephemeral = r.json["public_keys"][1].as_str().map(str::to_string);
    app.restart().await;
    let r = app
        .get(
            "lookupUser",
            "/_matrix/identity/api/v1/lookup?medium=email&address=newcomer%40example.org",
            None,
        )
        .await;
    assert_eq!(r.json["mxid"], "@newcomer:hs.example");
    assert!(
        app.store()
            .get_invite(&invite_token)
            .await
            .expect("read")
            .is_some()
    );
    assert_eq!(
        app.store().lookup_pepper().await.expect("pepper"),
        pepper_before
    );
    if let Some(key) = ephemeral {
        let r = app
            .get(
                "isEphemeralPubKeyValid",
                &format!(
                    "/_matrix/identity/api/v1/pubkey/ephemeral/isvalid?public_key={}",
                    key.replace('+', "%2B").replace('/', "%2F")
                ),
                None,
            )
            .await;
        assert_eq!(r.json["valid"], true, "{}", r.text);
    }
}
