//! Mail: SMTP delivery to a real (test) SMTP server, the directory transport, and the
//! templates (sydent-compatible variables and escaping, brands, injection safety).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use oxident::mail::{
    DirectoryMailer, InviteVars, MailError, Mailer, ResponseVars, SmtpConfig, SmtpMailer,
    SmtpPassword, SmtpTls, Templates, TemplatesConfig, VerificationVars,
};

use crate::smtp_sink::{Failure, SinkTls, SmtpSink};

const FROM: &str = "Identity <noreply@is.test>";

fn config(folder: Option<&Path>) -> TemplatesConfig {
    TemplatesConfig {
        folder: folder.map(Path::to_path_buf),
        from: FROM.to_owned(),
        identity_server_url: "https://is.test".to_owned(),
        ..TemplatesConfig::default()
    }
}

fn builtin() -> Templates {
    Templates::load(config(None)).expect("built-in templates load")
}

fn smtp_config(sink: &SmtpSink) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: Some(sink.port()),
        from: FROM.to_owned(),
        hello_name: Some("is.test".to_owned()),
        timeout: Duration::from_secs(10),
        ..SmtpConfig::default()
    }
}

fn verification(to: &str) -> VerificationVars {
    VerificationVars {
        to: to.to_owned(),
        token: "tOkEn123".to_owned(),
        link: oxident::mail::verification_link(
            "https://is.test",
            "17",
            "tOkEn123",
            "secret",
            Some("https://app.test/after?x=1"),
        ),
        ipaddress: Some("192.0.2.7".to_owned()),
    }
}

fn invite() -> InviteVars {
    InviteVars {
        to: "alice@example.org".to_owned(),
        token: "InviteTokenAbc".to_owned(),
        ephemeral_private_key: "k-_Ab9".to_owned(),
        room_id: "!room:example.org".to_owned(),
        sender: "@bob:example.org".to_owned(),
        sender_display_name: Some("Bob".to_owned()),
        room_name: Some("Tea club".to_owned()),
        ..InviteVars::default()
    }
}

/// (header block, body) of a CRLF message.
fn split_message(message: &[u8]) -> (String, String) {
    let text = String::from_utf8(message.to_vec()).expect("UTF-8 message");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("blank line after headers");
    (head.to_owned(), body.to_owned())
}

/// Header names of the header block (continuation lines skipped).
fn header_names(head: &str) -> Vec<String> {
    head.split("\r\n")
        .filter(|l| !l.starts_with([' ', '\t']))
        .map(|l| {
            l.split_once(':')
                .expect("header line has a colon")
                .0
                .to_owned()
        })
        .collect()
}

fn header(head: &str, name: &str) -> String {
    let mut value = None;
    for line in head.split("\r\n") {
        if let Some(v) = line.strip_prefix(&format!("{name}: ")) {
            value = Some(v.to_owned());
        } else if line.starts_with([' ', '\t'])
            && let Some(v) = value.as_mut()
        {
            v.push_str("\r\n");
            v.push_str(line);
        } else if value.is_some() {
            break;
        }
    }
    value.unwrap_or_else(|| panic!("no {name} header"))
}

fn boundary(head: &str) -> String {
    let start = head.find("boundary=\"").expect("boundary parameter") + 10;
    let end = head[start..].find('"').expect("closing quote") + start;
    head[start..end].to_owned()
}

/// Decodes a header of `=?utf-8?b?…?=` words (folded or not) or returns it unchanged.
fn decode_header(value: &str) -> String {
    if !value.starts_with("=?utf-8?b?") {
        return value.to_owned();
    }
    let mut bytes = Vec::new();
    for word in value.split("\r\n ") {
        let b64 = word
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="))
            .expect("encoded word");
        bytes.extend(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64"),
        );
    }
    String::from_utf8(bytes).expect("UTF-8 header")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
    std::fs::write(path, text).expect("write template");
}

// ---------------------------------------------------------------------------------------
// SMTP transport
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_the_rendered_bytes_with_the_configured_envelope() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&smtp_config(&sink)).expect("mailer");
    let message = builtin()
        .render_verification(None, &verification("alice@example.org"))
        .expect("render");

    mailer
        .send("alice@example.org", &message)
        .await
        .expect("sent");

    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.mail_from, "noreply@is.test");
    assert_eq!(mail.rcpt_to, vec!["alice@example.org".to_owned()]);
    assert_eq!(
        mail.data, message,
        "the relay gets exactly the rendered bytes"
    );
    assert_eq!(mail.authenticated_as, None);
}

#[tokio::test]
async fn smtp_keeps_dot_lines_and_eight_bit_text_intact() {
    let sink = SmtpSink::start().await;
    let mailer: Box<dyn Mailer> = Box::new(SmtpMailer::new(&smtp_config(&sink)).expect("mailer"));
    let message = "Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nünïcödé → ok\r\n".as_bytes();

    mailer.send("bob@example.org", message).await.expect("sent");

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.data, message);
    assert!(
        mail.mail_params
            .iter()
            .any(|p| p.eq_ignore_ascii_case("BODY=8BITMIME")),
        "8-bit content is announced: {:?}",
        mail.mail_params
    );
}

#[tokio::test]
async fn smtp_authenticates_when_credentials_are_configured() {
    let sink = SmtpSink::with_auth("is-user", "pa55 word").await;
    let mut config = smtp_config(&sink);
    config.username = Some("is-user".to_owned());
    config.password = SmtpPassword::new("pa55 word");
    // Credentials over a plain connection are refused unless the operator allows them.
    let refused = SmtpMailer::new(&config).expect_err("plaintext auth refused");
    assert!(
        matches!(&refused, MailError::Config(m) if m.contains("allow_plaintext_auth")),
        "{refused:?}"
    );
    config.allow_plaintext_auth = true;
    let mailer = SmtpMailer::new(&config).expect("mailer");

    mailer
        .send("carol@example.org", b"Subject: hi\r\n\r\nhello\r\n")
        .await
        .expect("sent");

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.authenticated_as.as_deref(), Some("is-user"));
    assert_eq!(mail.data, b"Subject: hi\r\n\r\nhello\r\n");
}

#[tokio::test]
async fn smtp_wrong_password_is_an_auth_error_without_the_password() {
    let sink = SmtpSink::with_auth("is-user", "right").await;
    let mut config = smtp_config(&sink);
    config.username = Some("is-user".to_owned());
    config.password = SmtpPassword::new("wrong-s3cret");
    config.allow_plaintext_auth = true;
    assert!(
        !format!("{config:?}").contains("wrong-s3cret"),
        "Debug redacts the password"
    );
    let mailer = SmtpMailer::new(&config).expect("mailer");
    assert!(!format!("{mailer:?}").contains("wrong-s3cret"));

    let error = mailer
        .send("carol@example.org", b"Subject: hi\r\n\r\nhello\r\n")
        .await
        .expect_err("refused");

    assert!(matches!(error, MailError::Auth(_)), "{error:?}");
    assert!(!error.to_string().contains("wrong-s3cret"));
    assert!(!format!("{error:?}").contains("wrong-s3cret"));
    assert_eq!(sink.failed_logins(), 1);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn smtp_refusals_surface_as_mail_errors() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&smtp_config(&sink)).expect("mailer");
    let message = b"Subject: x\r\n\r\nbody\r\n";

    sink.fail(Failure::Rcpt(550));
    let error = mailer
        .send("dave@example.org", message)
        .await
        .expect_err("550");
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");
    assert!(!error.is_invalid_address());

    sink.fail(Failure::Data(451));
    let error = mailer
        .send("dave@example.org", message)
        .await
        .expect_err("451");
    assert!(matches!(error, MailError::Transient(_)), "{error:?}");

    sink.fail(Failure::Mail(554));
    let error = mailer
        .send("dave@example.org", message)
        .await
        .expect_err("554");
    assert!(matches!(error, MailError::Permanent(_)), "{error:?}");

    assert!(sink.received().is_empty());
    sink.fail(Failure::None);
    mailer
        .send("dave@example.org", message)
        .await
        .expect("accepted again");
    assert_eq!(sink.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn smtp_unreachable_server_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: Some(port),
        from: FROM.to_owned(),
        timeout: Duration::from_secs(5),
        ..SmtpConfig::default()
    };
    let error = SmtpMailer::new(&config)
        .expect("mailer")
        .send("erin@example.org", b"Subject: x\r\n\r\nbody\r\n")
        .await
        .expect_err("nobody listens");
    assert!(matches!(error, MailError::Connection(_)), "{error:?}");
}

#[tokio::test]
async fn smtp_rejects_bad_recipients_before_connecting() {
    let sink = SmtpSink::start().await;
    let mailer = SmtpMailer::new(&smtp_config(&sink)).expect("mailer");
    for to in [
        "alice@example.org\r\nRCPT TO:<evil@example.com>",
        "Alice <alice@example.org>",
        "alice@example.org, evil@example.com",
        "no-at-sign",
    ] {
        let error = mailer
            .send(to, b"Subject: x\r\n\r\nbody\r\n")
            .await
            .expect_err(to);
        assert_eq!(error, MailError::InvalidAddress, "{to:?}");
    }
    assert_eq!(sink.connections(), 0);
}

#[test]
fn smtp_config_is_checked_and_deserialises() {
    let bad = SmtpConfig {
        from: "not an address".to_owned(),
        ..SmtpConfig::default()
    };
    assert!(matches!(SmtpMailer::new(&bad), Err(MailError::Config(_))));

    let config: SmtpConfig = serde_json::from_value(serde_json::json!({
        "host": "smtp.example.org",
        "tls": "start_tls",
        "username": "u",
        "password": "p",
        "from": "Identity <noreply@example.org>",
        "timeout": 12
    }))
    .expect("deserialise");
    assert_eq!(config.effective_port(), 587);
    assert_eq!(config.timeout, Duration::from_secs(12));
    assert_eq!(config.password.expose(), "p");
    assert!(!format!("{config:?}").contains("\"p\""));
}

// ---------------------------------------------------------------------------------------
// SMTP over TLS (STARTTLS and implicit), against the sink's self-signed certificate
// ---------------------------------------------------------------------------------------

/// A config for a TLS sink that trusts its self-signed certificate.
fn tls_config(sink: &SmtpSink, tls: SmtpTls) -> SmtpConfig {
    SmtpConfig {
        tls,
        accept_invalid_certs: true,
        ..smtp_config(sink)
    }
}

#[tokio::test]
async fn smtp_start_tls_upgrades_before_sending() {
    // The sink refuses MAIL until STARTTLS: delivery proves the client upgraded.
    let sink = SmtpSink::builder()
        .tls(SinkTls::RequireStartTls)
        .start()
        .await;
    let mailer = SmtpMailer::new(&tls_config(&sink, SmtpTls::StartTls)).expect("mailer");
    let message = builtin()
        .render_verification(None, &verification("alice@example.org"))
        .expect("render");

    mailer
        .send("alice@example.org", &message)
        .await
        .expect("sent over STARTTLS");

    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.tls, "the message came over TLS");
    assert_eq!(mail.mail_from, "noreply@is.test");
    assert_eq!(mail.rcpt_to, vec!["alice@example.org".to_owned()]);
    assert_eq!(
        mail.data, message,
        "the relay gets exactly the rendered bytes"
    );
    assert_eq!(sink.starttls_upgrades(), 1);
    assert_eq!(sink.tls_handshakes(), 1);
    assert_eq!(sink.connections(), 1);
}

#[tokio::test]
async fn smtp_start_tls_is_used_even_when_optional() {
    // A relay that merely offers STARTTLS still gets an upgraded session.
    let sink = SmtpSink::builder().tls(SinkTls::StartTls).start().await;
    let mailer = SmtpMailer::new(&tls_config(&sink, SmtpTls::StartTls)).expect("mailer");

    mailer
        .send("bob@example.org", b"Subject: hi\r\n\r\nhello\r\n")
        .await
        .expect("sent");

    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.tls);
    assert_eq!(sink.starttls_upgrades(), 1);
}

#[tokio::test]
async fn smtp_implicit_tls_delivers_intact_bytes() {
    let sink = SmtpSink::builder().tls(SinkTls::Implicit).start().await;
    let mailer = SmtpMailer::new(&tls_config(&sink, SmtpTls::Implicit)).expect("mailer");
    let message = "Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nünïcödé → ok\r\n".as_bytes();

    mailer
        .send("bob@example.org", message)
        .await
        .expect("sent over implicit TLS");

    let mail = sink.wait_for(1).await.remove(0);
    assert!(mail.tls);
    assert_eq!(mail.mail_from, "noreply@is.test");
    assert_eq!(mail.rcpt_to, vec!["bob@example.org".to_owned()]);
    assert_eq!(mail.data, message);
    assert_eq!(sink.tls_handshakes(), 1);
    assert_eq!(sink.starttls_upgrades(), 0);
}

#[tokio::test]
async fn smtp_authenticates_with_plain_and_login_over_tls() {
    for (sink_tls, client_tls) in [
        (SinkTls::RequireStartTls, SmtpTls::StartTls),
        (SinkTls::Implicit, SmtpTls::Implicit),
    ] {
        for mechanism in ["PLAIN", "LOGIN"] {
            let case = format!("{client_tls:?} {mechanism}");
            let sink = SmtpSink::builder()
                .tls(sink_tls)
                .auth("is-user", "pa55 wörd")
                .mechanisms(&[mechanism])
                .start()
                .await;
            let mut config = tls_config(&sink, client_tls);
            config.username = Some("is-user".to_owned());
            config.password = SmtpPassword::new("pa55 wörd");
            let mailer = SmtpMailer::new(&config).expect("mailer");

            mailer
                .send("carol@example.org", b"Subject: hi\r\n\r\nhello\r\n")
                .await
                .unwrap_or_else(|e| panic!("{case}: {e:?}"));

            let mail = sink.wait_for(1).await.remove(0);
            assert!(mail.tls, "{case}");
            assert_eq!(mail.authenticated_as.as_deref(), Some("is-user"), "{case}");
            assert_eq!(mail.auth_mechanism.as_deref(), Some(mechanism), "{case}");
            assert_eq!(mail.data, b"Subject: hi\r\n\r\nhello\r\n", "{case}");
            assert_eq!(sink.failed_logins(), 0, "{case}");
        }
    }
}

#[tokio::test]
async fn smtp_wrong_password_over_tls_is_an_auth_error() {
    let sink = SmtpSink::builder()
        .tls(SinkTls::RequireStartTls)
        .auth("is-user", "right")
        .start()
        .await;
    let mut config = tls_config(&sink, SmtpTls::StartTls);
    config.username = Some("is-user".to_owned());
    config.password = SmtpPassword::new("wrong-s3cret");
    config.allow_plaintext_auth = true;

    let error = SmtpMailer::new(&config)
        .expect("mailer")
        .send("carol@example.org", b"Subject: hi\r\n\r\nhello\r\n")
        .await
        .expect_err("refused");

    assert!(matches!(error, MailError::Auth(_)), "{error:?}");
    assert!(!format!("{error:?}").contains("wrong-s3cret"));
    assert_eq!(
        sink.starttls_upgrades(),
        1,
        "AUTH happened after the upgrade"
    );
    assert_eq!(sink.failed_logins(), 1);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn smtp_refuses_a_self_signed_certificate_unless_told_otherwise() {
    for (sink_tls, client_tls) in [
        (SinkTls::StartTls, SmtpTls::StartTls),
        (SinkTls::Implicit, SmtpTls::Implicit),
    ] {
        let sink = SmtpSink::builder().tls(sink_tls).start().await;
        let config = SmtpConfig {
            accept_invalid_certs: false,
            ..tls_config(&sink, client_tls)
        };

        let error = SmtpMailer::new(&config)
            .expect("mailer")
            .send("dave@example.org", b"Subject: x\r\n\r\nbody\r\n")
            .await
            .expect_err("the self-signed certificate is not trusted");

        assert!(
            matches!(error, MailError::Connection(_)),
            "{client_tls:?}: {error:?}"
        );
        assert!(
            error
                .to_string()
                .to_ascii_lowercase()
                .contains("certificate"),
            "{client_tls:?}: {error}"
        );
        sink.wait_until("the handshake failed", |s| s.tls_failures() == 1)
            .await;
        assert_eq!(sink.tls_handshakes(), 0, "{client_tls:?}");
        assert!(sink.received().is_empty(), "{client_tls:?}");
    }
}

#[tokio::test]
async fn smtp_plain_client_fails_cleanly_when_the_relay_requires_start_tls() {
    let sink = SmtpSink::builder()
        .tls(SinkTls::RequireStartTls)
        .start()
        .await;
    let mailer = SmtpMailer::new(&smtp_config(&sink)).expect("mailer");

    let error = mailer
        .send("erin@example.org", b"Subject: x\r\n\r\nbody\r\n")
        .await
        .expect_err("530 before STARTTLS");
    // 530: encryption (or authentication) required.
    assert!(matches!(error, MailError::Auth(_)), "{error:?}");
    assert!(error.to_string().contains("STARTTLS"), "{error}");

    // With credentials (plain text explicitly allowed): the relay offers no AUTH before the
    // upgrade.
    let mut config = smtp_config(&sink);
    config.username = Some("is-user".to_owned());
    config.password = SmtpPassword::new("pw");
    config.allow_plaintext_auth = true;
    let error = SmtpMailer::new(&config)
        .expect("mailer")
        .send("erin@example.org", b"Subject: x\r\n\r\nbody\r\n")
        .await
        .expect_err("no AUTH offered in plain text");
    assert!(matches!(error, MailError::Auth(_)), "{error:?}");

    assert_eq!(sink.starttls_upgrades(), 0);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn smtp_tls_modes_never_fall_back_to_plain_text() {
    let sink = SmtpSink::start().await;

    // STARTTLS configured, but the relay does not offer it.
    let error = SmtpMailer::new(&tls_config(&sink, SmtpTls::StartTls))
        .expect("mailer")
        .send("frank@example.org", b"Subject: x\r\n\r\nbody\r\n")
        .await
        .expect_err("no STARTTLS offered");
    assert!(matches!(error, MailError::Connection(_)), "{error:?}");

    // Implicit TLS configured, but the relay speaks plain SMTP.
    let error = SmtpMailer::new(&tls_config(&sink, SmtpTls::Implicit))
        .expect("mailer")
        .send("frank@example.org", b"Subject: x\r\n\r\nbody\r\n")
        .await
        .expect_err("plain text is no TLS");
    assert!(matches!(error, MailError::Connection(_)), "{error:?}");

    assert!(sink.received().is_empty());
}

// ---------------------------------------------------------------------------------------
// Directory transport
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn directory_transport_writes_one_eml_file_per_message() {
    let root = tempfile::tempdir().expect("tempdir");
    let folder = root.path().join("not/yet/there");
    let mailer = DirectoryMailer::new(&folder);

    mailer
        .send("alice@example.org", b"Subject: one\r\n\r\n1\r\n")
        .await
        .expect("first");
    mailer
        .send("alice@example.org", b"Subject: two\r\n\r\n2\r\n")
        .await
        .expect("second");

    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .expect("folder created")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    // Tokens are in there: the folder and the files are the server user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&root.path().join("not")), 0o700);
        for f in &files {
            assert_eq!(mode(f), 0o600);
        }
    }
    let mut contents: Vec<Vec<u8>> = files
        .iter()
        .map(|p| {
            assert_eq!(p.extension().and_then(|e| e.to_str()), Some("eml"));
            std::fs::read(p).expect("read")
        })
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        vec![
            b"Subject: one\r\n\r\n1\r\n".to_vec(),
            b"Subject: two\r\n\r\n2\r\n".to_vec()
        ]
    );
    assert_eq!(
        mailer.send("bad\naddress@example.org", b"x").await,
        Err(MailError::InvalidAddress)
    );
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

#[test]
fn verification_email_carries_the_standard_variables() {
    let message = builtin()
        .render_verification(None, &verification("alice@example.org"))
        .expect("render");
    assert!(message.ends_with(b"\r\n"));
    let crlf = message.windows(2).filter(|w| w == b"\r\n").count();
    assert_eq!(
        message.iter().filter(|&&b| b == b'\n').count(),
        crlf,
        "CRLF line endings only"
    );
    assert_eq!(
        message.iter().filter(|&&b| b == b'\r').count(),
        crlf,
        "CRLF line endings only"
    );
    let (head, body) = split_message(&message);
    assert_eq!(
        header_names(&head),
        [
            "Date",
            "From",
            "To",
            "Message-ID",
            "Subject",
            "MIME-Version",
            "Content-Type"
        ]
    );
    assert_eq!(header(&head, "From"), FROM);
    assert_eq!(header(&head, "To"), "alice@example.org");
    assert_eq!(header(&head, "Subject"), "Confirm your email address");

    // RFC 2822 date, as Python's email.utils.formatdate(localtime=False).
    let date = header(&head, "Date");
    let parts: Vec<&str> = date.split(' ').collect();
    assert_eq!(parts.len(), 6, "{date}");
    assert!(["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"].contains(&parts[0]));
    assert_eq!(parts[1].len(), 2);
    assert_eq!(parts[4].len(), 8);
    assert_eq!(parts[5], "-0000");

    // <millis><16 letters>@<domain of from>
    let id = header(&head, "Message-ID");
    let inner = id
        .strip_prefix('<')
        .and_then(|i| i.strip_suffix('>'))
        .expect("angle brackets");
    let (local, domain) = inner.split_once('@').expect("@ in Message-ID");
    assert_eq!(domain, "is.test");
    let letters = local.trim_start_matches(|c: char| c.is_ascii_digit());
    assert!(local.len() > 16 + 10, "{id}");
    assert_eq!(letters.len(), 16, "{id}");
    assert!(letters.chars().all(|c| c.is_ascii_alphabetic()));

    let boundary = boundary(&head);
    assert_eq!(boundary.len(), 32);
    assert!(boundary.chars().all(|c| c.is_ascii_alphanumeric()));
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    assert_eq!(parts.len(), 4, "preamble, text, html, closing");
    assert_eq!(parts[3], "--\r\n");
    let (text, html) = (parts[1], parts[2]);
    assert!(text.contains("Content-Type: text/plain; charset=UTF-8"));
    assert!(html.contains("Content-Type: text/html; charset=UTF-8"));

    let link = "https://is.test/_matrix/identity/v2/validate/email/submitToken?token=tOkEn123\
                &client_secret=secret&sid=17&nextLink=https%3A//app.test/after%3Fx%3D1%26sid%3D17";
    assert!(
        text.contains(&format!("\r\n{link}\r\n")),
        "raw link in the text part"
    );
    assert!(text.contains("tOkEn123"));
    assert!(text.contains("192.0.2.7"));
    let escaped = link.replace('&', "&amp;");
    assert!(
        html.contains(&format!("href=\"{escaped}\"")),
        "escaped link in the HTML part"
    );
    assert!(!html.contains("&client_secret"), "no raw & in HTML");
    assert!(
        !html.contains("&#x2f;"),
        "slashes are not escaped (markupsafe semantics)"
    );
}

#[test]
fn verification_without_ip_says_unknown_location() {
    let mut vars = verification("alice@example.org");
    vars.ipaddress = None;
    let message = builtin().render_verification(None, &vars).expect("render");
    assert!(String::from_utf8_lossy(&message).contains("an unknown location"));
}

#[test]
fn invite_email_mentions_inviter_room_avatar_and_type() {
    let templates = builtin();
    let mut vars = invite();
    vars.room_avatar_url = Some("mxc://example.org/abc".to_owned());
    vars.room_type = Some("org.example.custom".to_owned());
    vars.verified_sender = Some("@bob:example.org".to_owned());
    let message = templates.render_invite(None, &vars).expect("render");
    let (head, body) = split_message(&message);
    assert_eq!(header(&head, "Subject"), "Bob has invited you to chat");
    assert_eq!(header(&head, "To"), "alice@example.org");
    assert!(body.contains("Bob (@bob:example.org) invited you to join a Matrix room: Tea club."));
    assert!(body.contains("Room type: org.example.custom"));
    assert!(body.contains("mxc://example.org/abc"));
    let link = "https://app.element.io/#/room/%21room%3Aexample.org?email=alice%40example.org\
                &signurl=https%3A//is.test/_matrix/identity/v2/sign-ed25519%3Ftoken%3DInviteTokenAbc\
                %26private_key%3Dk-_Ab9&room_name=Tea%20club&room_avatar_url=mxc%3A//example.org/abc\
                &inviter_name=Bob&guest_access_token=&guest_user_id=&room_type=org.example.custom";
    assert!(
        body.contains(&format!("\r\n{link}\r\n")),
        "join link in the text part"
    );
    assert!(body.contains(&format!("href=\"{}\"", link.replace('&', "&amp;"))));

    // A space: other subject, "space" wording.
    vars.room_type = Some("m.space".to_owned());
    let message = templates.render_invite(None, &vars).expect("render");
    let (head, body) = split_message(&message);
    assert_eq!(header(&head, "Subject"), "Bob has invited you to a space");
    assert!(body.contains("invited you to join a Matrix space: Tea club."));

    // No display name: the subject names the sender's user ID.
    vars.sender_display_name = None;
    let message = templates.render_invite(None, &vars).expect("render");
    let (head, _) = split_message(&message);
    assert_eq!(
        header(&head, "Subject"),
        "@bob:example.org has invited you to a space"
    );
}

#[test]
fn invite_truncates_names_and_encodes_non_ascii_subjects() {
    let mut vars = invite();
    vars.sender_display_name = Some("Zoë Ångström-Øverby the Third".to_owned());
    vars.room_name = Some("A very long room name that goes on and on".to_owned());
    let message = builtin().render_invite(None, &vars).expect("render");
    let (head, body) = split_message(&message);
    let subject = header(&head, "Subject");
    assert!(subject.is_ascii(), "RFC 2047 encoded: {subject}");
    assert!(subject.split("\r\n ").all(|w| w.len() <= 75));
    assert_eq!(
        decode_header(&subject),
        "Zoë Ångström-Øverby… has invited you to chat"
    );
    assert!(body.contains("A very long room name tha…"));
    assert!(body.contains("inviter_name=Zo%C3%AB%20%C3%85ngstr%C3%B6m-%C3%98verby%E2%80%A6"));
}

#[test]
fn invite_web_client_location_must_be_http() {
    let templates = Templates::load(TemplatesConfig {
        web_client_hosts: vec!["chat.example.org".to_owned(), "app.element.io".to_owned()],
        ..config(None)
    })
    .expect("templates");
    let mut vars = invite();
    vars.web_client_location = Some("https://chat.example.org/".to_owned());
    let body =
        String::from_utf8(templates.render_invite(None, &vars).expect("render")).expect("utf8");
    assert!(body.contains("https://chat.example.org/#/room/"));
    for bad in [
        "javascript:alert(1)",
        "//evil.example",
        "https://x\" onmouseover=\"y",
        "ftp://x",
    ] {
        vars.web_client_location = Some(bad.to_owned());
        let body =
            String::from_utf8(templates.render_invite(None, &vars).expect("render")).expect("utf8");
        assert!(body.contains("https://app.element.io/#/room/"), "{bad}");
        assert!(!body.contains(bad), "{bad}");
    }
}

/// `org.matrix.web_client_location` comes from the homeserver: invite links open only on the
/// configured client hosts (by default the brand's own web client), never on any https site.
#[test]
fn invite_web_client_location_must_be_a_configured_host() {
    let link_host = |templates: &Templates, location: &str| {
        let mut vars = invite();
        vars.web_client_location = Some(location.to_owned());
        let body =
            String::from_utf8(templates.render_invite(None, &vars).expect("render")).expect("utf8");
        body.contains(&format!("{}/#/room/", location.trim_end_matches('/')))
    };
    let default = builtin();
    assert!(link_host(&default, "https://app.element.io"));
    assert!(link_host(&default, "https://APP.element.io:443/"));
    for foreign in [
        "https://evil.example",
        "https://app.element.io.evil.example",
        "https://app.element.io@evil.example",
        "https://evil.example/app.element.io",
    ] {
        assert!(
            !link_host(&default, foreign),
            "{foreign} accepted by default"
        );
    }
    // Through the extra parameter, as homeservers send it.
    let mut vars = invite();
    vars.extra.insert(
        "org.matrix.web_client_location".to_owned(),
        "https://evil.example".to_owned(),
    );
    let body =
        String::from_utf8(default.render_invite(None, &vars).expect("render")).expect("utf8");
    assert!(!body.contains("evil.example") && body.contains("https://app.element.io/#/room/"));

    let configured = Templates::load(TemplatesConfig {
        web_client_hosts: vec!["chat.example.org".to_owned()],
        ..config(None)
    })
    .expect("templates");
    assert!(link_host(&configured, "https://chat.example.org/"));
    assert!(!link_host(&configured, "https://evil.example"));
}

#[test]
fn response_page_escapes_the_message() {
    let templates = builtin();
    let page = templates
        .render_verify_response(None, &ResponseVars::success())
        .expect("render");
    assert!(page.contains("Email address confirmed"));
    assert!(page.contains(&ResponseVars::success().message));
    let page = templates
        .render_verify_response(
            None,
            &ResponseVars {
                message: "<script>alert(1)</script>".to_owned(),
                success: false,
                phone: false,
            },
        )
        .expect("render");
    assert!(!page.contains("<script>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

// Security: values supplied by users (addresses, room and display names, any request
// parameter) cannot add headers or MIME parts, and are HTML-escaped.

const INJECT: &str = "<script>alert(1)</script>\r\nBcc: evil@example.com\r\n\r\nbody";

fn assert_no_injection(message: &[u8], expected_headers: &[&str]) {
    let (head, body) = split_message(message);
    assert_eq!(header_names(&head), expected_headers);
    let text = String::from_utf8_lossy(message);
    for line in text.split("\r\n") {
        assert!(
            !line.to_ascii_lowercase().starts_with("bcc:"),
            "injected header line: {line:?}"
        );
    }
    let boundary = boundary(&head);
    let html_start = body.rfind("Content-Type: text/html").expect("html part");
    let html = &body[html_start..];
    assert!(!html.contains("<script>"), "raw <script> in the HTML part");
    assert!(html.contains("&lt;script&gt;"));
    assert_eq!(body.matches(&format!("--{boundary}")).count(), 3);
}

#[test]
fn header_injection_through_the_recipient_is_refused() {
    let templates = builtin();
    let mut vars = verification("alice@example.org\r\nBcc: evil@example.com");
    assert_eq!(
        templates.render_verification(None, &vars),
        Err(MailError::InvalidAddress)
    );
    vars.to = "Alice <alice@example.org>".to_owned();
    assert_eq!(
        templates.render_verification(None, &vars),
        Err(MailError::InvalidAddress)
    );
    let mut invite = invite();
    invite.to = "alice@example.org\nBcc: evil@example.com".to_owned();
    assert_eq!(
        templates.render_invite(None, &invite),
        Err(MailError::InvalidAddress)
    );
}

#[test]
fn header_injection_through_verification_values_is_neutralised() {
    let mut vars = verification("alice@example.org");
    vars.ipaddress = Some(INJECT.to_owned()); // e.g. from a spoofed X-Forwarded-For
    vars.token = INJECT.to_owned();
    let message = builtin().render_verification(None, &vars).expect("render");
    assert_no_injection(
        &message,
        &[
            "Date",
            "From",
            "To",
            "Message-ID",
            "Subject",
            "MIME-Version",
            "Content-Type",
        ],
    );
}

#[test]
fn header_injection_through_invite_fields_is_neutralised() {
    let root = tempfile::tempdir().expect("tempdir");
    // An operator template that (unwisely) puts request values into headers.
    write(
        &root.path().join("careless/invite_template.eml.j2"),
        "From: {{ from|safe }}\nTo: {{ to|safe }}\nSubject: {{ subject_header_value|safe }}\n\
         X-Room: {{ room_name|safe }}\nX-Custom: {{ custom|safe }}\nX-Inviter: {{ sender_display_name|safe }}\n\
         Content-Type: multipart/alternative; boundary=\"{{ multipart_boundary|safe }}\"\n\n\
         --{{ multipart_boundary|safe }}\nContent-Type: text/plain\n\n{{ room_name|safe }} {{ custom|safe }}\n\
         --{{ multipart_boundary|safe }}\nContent-Type: text/html\n\n<p>{{ room_name }} {{ custom }} \
         {{ sender_display_name }} {{ room_avatar_url }}</p>\n--{{ multipart_boundary|safe }}--\n",
    );
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    let mut vars = invite();
    vars.room_name = Some(INJECT.to_owned());
    vars.sender_display_name = Some(INJECT.to_owned());
    vars.room_avatar_url = Some(INJECT.to_owned());
    vars.extra.insert("custom".to_owned(), INJECT.to_owned());
    vars.extra
        .insert("bad\r\nname".to_owned(), INJECT.to_owned());

    for brand in [Some("careless"), None] {
        let message = templates.render_invite(brand, &vars).expect("render");
        let expected: &[&str] = if brand.is_some() {
            &[
                "From",
                "To",
                "Subject",
                "X-Room",
                "X-Custom",
                "X-Inviter",
                "Content-Type",
            ]
        } else {
            &[
                "Date",
                "From",
                "To",
                "Message-ID",
                "Subject",
                "MIME-Version",
                "Content-Type",
            ]
        };
        assert_no_injection(&message, expected);
    }
}

#[test]
fn extra_parameters_never_override_computed_variables() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("probe/invite_template.eml.j2"),
        "To: {{ to|safe }}\nX: [{{ token|safe }}][{{ multipart_boundary|safe }}][{{ bracketed_room_name|safe }}]\
         [{{ web_client_location|safe }}][{{ room_alias|safe }}][{{ custom|safe }}]\n\nbody\n",
    );
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    let mut vars = invite();
    vars.room_name = None;
    vars.room_alias = Some("#tea:example.org".to_owned());
    for name in [
        "to",
        "token",
        "multipart_boundary",
        "bracketed_room_name",
        "web_client_location",
        "room_alias",
    ] {
        vars.extra.insert(name.to_owned(), "EVIL".to_owned());
    }
    vars.extra.insert("custom".to_owned(), "kept".to_owned());
    let text = String::from_utf8(
        templates
            .render_invite(Some("probe"), &vars)
            .expect("render"),
    )
    .expect("utf8");
    assert!(!text.contains("EVIL"), "{text}");
    assert!(text.contains("[InviteTokenAbc]["));
    assert!(text.contains("][][https://app.element.io][#tea:example.org][kept]"));
}

/// A template written the way the reference server's are (autoescape on, `|safe` for headers
/// and plain text, `|urlencode` in links, `%%` left as is) renders byte-for-byte as Jinja2
/// renders it. The expected text was produced with Jinja2 3.1 (`Environment(autoescape=True)`)
/// from the same template and values; only line endings differ (we send CRLF).
#[test]
fn sydent_style_templates_render_like_jinja2() {
    const TEMPLATE: &str = r#"Date: {{ date|safe }}
From: {{ from|safe }}
To: {{ to|safe }}
Message-ID: {{ messageid|safe }}
Subject: {{ subject_header_value|safe }}
MIME-Version: 1.0
Content-Type: multipart/alternative;
	boundary="{{ multipart_boundary|safe }}"

--{{ multipart_boundary|safe }}
Content-Type: text/plain; charset=UTF-8

{{ sender_display_name|safe }} {{ bracketed_verified_sender|safe }}wants you in a {% if room_type == "m.space" %}space{% else %}room{% endif %} {{ bracketed_room_name|safe }}
{{ web_client_location }}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}&token={{ token|urlencode }}&key={{ ephemeral_private_key|urlencode }}&name={{ room_name|urlencode }}&alias={{ room_alias }}&custom={{ custom_param }}&missing={{ not_sent|urlencode }}

--{{ multipart_boundary|safe }}
Content-Type: text/html; charset=UTF-8

<p style="width: 100%%">{{ sender_display_name }} {{ bracketed_verified_sender }} {{ bracketed_room_name }}</p>
<a href="{{ web_client_location }}/#/room/{{ room_id|urlencode }}?email={{ to|urlencode }}">join</a> {{ custom_param }}{{ not_sent }}

--{{ multipart_boundary|safe }}--
"#;
    const JINJA2_OUTPUT: &str = r#"Date: DATE
From: Identity <noreply@is.test>
To: alice@example.org
Message-ID: MESSAGEID
Subject: SUBJECT
MIME-Version: 1.0
Content-Type: multipart/alternative;
	boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=UTF-8

Bob & <Bobby> "O'Ne… (@bob:example.org) wants you in a space (Tea & Cakes <club>) 
https://chat.example.org/#/room/%21room%3Aexample.org?email=alice%40example.org&token=aBcD&key=k-_Ab9&name=Tea%20%26%20Cakes%20%3Cclub%3E&alias=#tea:example.org&custom=x&lt;y&gt;&amp;&#39;z&#39;&missing=

--BOUNDARY
Content-Type: text/html; charset=UTF-8

<p style="width: 100%%">Bob &amp; &lt;Bobby&gt; &#34;O&#39;Ne… (@bob:example.org)  (Tea &amp; Cakes &lt;club&gt;) </p>
<a href="https://chat.example.org/#/room/%21room%3Aexample.org?email=alice%40example.org">join</a> x&lt;y&gt;&amp;&#39;z&#39;

--BOUNDARY--"#;

    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("legacy-style/invite_template.eml.j2"),
        TEMPLATE,
    );
    let templates = Templates::load(TemplatesConfig {
        web_client_hosts: vec!["chat.example.org".to_owned()],
        ..config(Some(root.path()))
    })
    .expect("load");
    let vars = InviteVars {
        to: "alice@example.org".to_owned(),
        token: "aBcD".to_owned(),
        ephemeral_private_key: "k-_Ab9".to_owned(),
        room_id: "!room:example.org".to_owned(),
        sender: "@bob:example.org".to_owned(),
        verified_sender: Some("@bob:example.org".to_owned()),
        sender_display_name: Some(r#"Bob & <Bobby> "O'Neil" Jr."#.to_owned()),
        room_name: Some("Tea & Cakes <club>".to_owned()),
        room_type: Some("m.space".to_owned()),
        room_alias: Some("#tea:example.org".to_owned()),
        web_client_location: Some("https://chat.example.org".to_owned()),
        extra: BTreeMap::from([("custom_param".to_owned(), "x<y>&'z'".to_owned())]),
        ..InviteVars::default()
    };
    let message = templates
        .render_invite(Some("legacy-style"), &vars)
        .expect("render");
    let (head, _) = split_message(&message);
    let subject = header(&head, "Subject");
    assert_eq!(
        decode_header(&subject),
        r#"Bob & <Bobby> "O'Ne… has invited you to a space"#
    );
    let expected = JINJA2_OUTPUT
        .replace("DATE", &header(&head, "Date"))
        .replace("MESSAGEID", &header(&head, "Message-ID"))
        .replace("SUBJECT", &subject.replace("\r\n", "\n"))
        .replace("BOUNDARY", &boundary(&head))
        .replace('\n', "\r\n")
        + "\r\n";
    assert_eq!(String::from_utf8(message).expect("utf8"), expected);
}

// Brands

fn operator_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let brand = root.path().join("acme");
    write(
        &brand.join("verification_template.eml.j2"),
        "To: {{ to|safe }}\nSubject: ACME check\n\nACME code {{ token|safe }}\n",
    );
    write(
        &brand.join("invite_template.eml.j2"),
        "To: {{ to|safe }}\nSubject: ACME invite\n\nACME invite {{ room_name|safe }}\n",
    );
    // A sydent-style response page: Python %-format, not Jinja.
    write(
        &brand.join("verify_response_template.html"),
        "<html><body style=\"width: 100%%\"><p>%(message)s</p></body></html>\n",
    );
    // Only one of the three files: the rest falls back to the default brand.
    write(
        &root.path().join("partial/verification_template.eml.j2"),
        "To: {{ to|safe }}\nSubject: partial\n\nPARTIAL {{ token|safe }}\n",
    );
    // Not brands: a plain file, a hidden folder, an empty folder.
    write(&root.path().join("README"), "not a brand");
    write(
        &root.path().join(".hidden/verification_template.eml.j2"),
        "HIDDEN",
    );
    std::fs::create_dir_all(root.path().join("empty")).expect("mkdir");
    root
}

#[test]
fn brands_come_from_the_operator_folder() {
    let root = operator_folder();
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    assert_eq!(
        templates.brands().collect::<Vec<_>>(),
        ["acme", "matrix-org", "partial"]
    );

    let render = |brand: Option<&str>| {
        String::from_utf8(
            templates
                .render_verification(brand, &verification("alice@example.org"))
                .expect("render"),
        )
        .expect("utf8")
    };
    assert!(render(Some("acme")).contains("ACME code tOkEn123"));
    assert!(render(Some("partial")).contains("PARTIAL tOkEn123"));
    assert!(render(None).contains("Subject: Confirm your email address"));
    assert!(render(Some("unknown")).contains("Subject: Confirm your email address"));

    // `partial` lacks the invite and the response page: the default brand's are used.
    let invite = String::from_utf8(
        templates
            .render_invite(Some("partial"), &invite())
            .expect("render"),
    )
    .expect("utf8");
    assert!(invite.contains("invited you to join a Matrix room"));
    let page = templates
        .render_verify_response(Some("acme"), &ResponseVars::failure())
        .expect("render");
    assert_eq!(
        page,
        format!(
            "<html><body style=\"width: 100%\"><p>{}</p></body></html>\n",
            ResponseVars::failure().message
        )
    );
}

#[test]
fn brand_path_tricks_select_the_default_brand() {
    let root = operator_folder();
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    for trick in [
        "../acme", "acme/", "./acme", "acme/..", "..", ".", "/acme", "acme\\..", ".hidden",
        "acme\0", "ACME", "empty", "README", "", " acme",
    ] {
        assert_eq!(
            templates.resolve_brand(Some(trick)),
            "matrix-org",
            "{trick:?}"
        );
        let text = String::from_utf8(
            templates
                .render_verification(Some(trick), &verification("alice@example.org"))
                .expect("render"),
        )
        .expect("utf8");
        assert!(
            text.contains("Subject: Confirm your email address"),
            "{trick:?}"
        );
    }
    assert_eq!(templates.resolve_brand(Some("acme")), "acme");
}

#[test]
fn default_brand_is_configurable_and_checked() {
    let root = operator_folder();
    let mut cfg = config(Some(root.path()));
    cfg.default_brand = "acme".to_owned();
    let templates = Templates::load(cfg.clone()).expect("load");
    assert_eq!(templates.resolve_brand(Some("nope")), "acme");
    let text = String::from_utf8(
        templates
            .render_verification(None, &verification("alice@example.org"))
            .expect("render"),
    )
    .expect("utf8");
    assert!(text.contains("ACME code"));

    cfg.default_brand = "does-not-exist".to_owned();
    assert!(matches!(Templates::load(cfg), Err(MailError::Config(_))));
    let mut cfg = config(None);
    cfg.default_brand = "../etc".to_owned();
    assert!(matches!(Templates::load(cfg), Err(MailError::Config(_))));
}

#[test]
fn broken_operator_templates_fail_at_load() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("broken/verification_template.eml.j2"),
        "Subject: {{ unclosed\n",
    );
    assert!(matches!(
        Templates::load(config(Some(root.path()))),
        Err(MailError::Template(_))
    ));
    let missing = root.path().join("missing-folder");
    assert!(matches!(
        Templates::load(config(Some(&missing))),
        Err(MailError::Config(_))
    ));
}

#[test]
fn operator_folder_can_replace_the_builtin_brand() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("matrix-org/verification_template.eml.j2"),
        "To: {{ to|safe }}\nSubject: replaced\n\n{{ token|safe }}\n",
    );
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    let text = String::from_utf8(
        templates
            .render_verification(None, &verification("alice@example.org"))
            .expect("render"),
    )
    .expect("utf8");
    assert!(text.contains("Subject: replaced"));
    // The other built-in files stay.
    let invite =
        String::from_utf8(templates.render_invite(None, &invite()).expect("render")).expect("utf8");
    assert!(invite.contains("invited you to join a Matrix room"));
}

#[test]
fn invite_fields_can_come_from_the_request_parameters() {
    // The caller may pass the request's string parameters as they came.
    let params = [
        ("room_id", "!r:example.org"),
        ("sender", "@dan:example.org"),
        ("sender_display_name", "Dan"),
        ("room_name", "Book club"),
        ("room_type", "m.space"),
        ("org.matrix.web_client_location", "https://web.example.org"),
        ("token", "NOT-OURS"),
    ];
    let vars = InviteVars {
        to: "alice@example.org".to_owned(),
        token: "OurToken".to_owned(),
        ephemeral_private_key: "key".to_owned(),
        extra: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..InviteVars::default()
    };
    let templates = Templates::load(TemplatesConfig {
        web_client_hosts: vec!["web.example.org".to_owned()],
        ..config(None)
    })
    .expect("templates");
    let message = templates.render_invite(None, &vars).expect("render");
    let (head, body) = split_message(&message);
    assert_eq!(header(&head, "Subject"), "Dan has invited you to a space");
    assert!(body.contains("Dan invited you to join a Matrix space: Book club."));
    assert!(body.contains("https://web.example.org/#/room/%21r%3Aexample.org?"));
    assert!(body.contains("token%3DOurToken"));
    assert!(!body.contains("NOT-OURS"));
}

/// sydent sends its response page as the file is written, `%(message)s` replaced: the final
/// newline and every other byte stay, whichever syntax the file uses.
#[test]
fn response_pages_keep_every_byte_of_the_file() {
    let root = tempfile::tempdir().expect("tempdir");
    let percent = "<html>\n<p>%(message)s</p>\n<p>100%% sure</p>\n</html>\n\n";
    write(
        &root.path().join("pct/verify_response_template.html"),
        percent,
    );
    // A static page (no placeholder at all) is a `%` page too, as in sydent.
    write(
        &root.path().join("plain/verify_response_template.html"),
        "<p>done</p>\r\n",
    );
    write(
        &root.path().join("jinja/verify_response_template.html"),
        "<p>{{ message }}</p>\n{% if success %}ok{% endif %}\n",
    );
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    let ok = ResponseVars::success();
    let page = |brand| {
        templates
            .render_verify_response(Some(brand), &ok)
            .expect("render")
    };
    assert_eq!(
        page("pct"),
        format!(
            "<html>\n<p>{}</p>\n<p>100% sure</p>\n</html>\n\n",
            ok.message
        )
    );
    assert_eq!(page("plain"), "<p>done</p>\n");
    assert_eq!(page("jinja"), format!("<p>{}</p>\nok\n", ok.message));
    assert_eq!(
        ok.message,
        "Verification successful! Please return to your Matrix client to continue."
    );
    // The built-in page ends with its newline as well.
    assert!(
        templates
            .render_verify_response(None, &ok)
            .expect("render")
            .ends_with("</html>\n")
    );
}

/// sydent's older `.eml` templates (Python `%`, with `_forhtml`/`_forurl` twins) are rendered,
/// not refused: the Jinja file wins when both exist, as in sydent.
#[test]
fn percent_mail_templates_render_like_sydent() {
    let root = tempfile::tempdir().expect("tempdir");
    write(
        &root.path().join("old/verification_template.eml"),
        "To: %(to)s\nSubject: Check\n\ncode %(token)s (100%%)\n%(link_forhtml)s\n%(to_forurl)s\n\n",
    );
    write(
        &root.path().join("old/invite_template.eml"),
        "To: %(to)s\nSubject: %(subject_header_value)s\n\n%(room_name_forhtml)s %(nope)s\n",
    );
    write(
        &root.path().join("both/verification_template.eml"),
        "To: %(to)s\n\nPERCENT\n",
    );
    write(
        &root.path().join("both/verification_template.eml.j2"),
        "To: {{ to|safe }}\n\nJINJA\n",
    );
    let templates = Templates::load(config(Some(root.path()))).expect("load");
    let vars = verification("o'neil@example.org");
    let mail = String::from_utf8(
        templates
            .render_verification(Some("old"), &vars)
            .expect("render"),
    )
    .expect("utf8");
    let link_html = vars.link.replace('&', "&amp;");
    assert_eq!(
        mail,
        format!(
            "To: o'neil@example.org\r\nSubject: Check\r\n\r\ncode tOkEn123 (100%)\r\n{link_html}\r\n\
             o%27neil%40example.org\r\n\r\n"
        )
    );
    let mut invite = invite();
    invite.room_name = Some("<Tea> & \"cake\"".to_owned());
    let mail = String::from_utf8(
        templates
            .render_invite(Some("old"), &invite)
            .expect("render"),
    )
    .expect("utf8");
    assert!(
        mail.ends_with("\r\n\r\n&lt;Tea&gt; &amp; &quot;cake&quot; \r\n"),
        "{mail}"
    );
    let mail = templates
        .render_verification(Some("both"), &vars)
        .expect("render");
    assert!(String::from_utf8_lossy(&mail).contains("JINJA"));
}

/// Production wiring creates the data folders for the server's user alone, whatever the
/// umask (under `umask 000` they were world-writable).
#[cfg(unix)]
#[tokio::test]
async fn data_folders_are_created_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().expect("tempdir");
    let mut config = crate::common::base_config(root.path(), 9);
    config.storage.sqlite_path = root.path().join("data/db/oxident.sqlite");
    config.keys.signing_key_path = root.path().join("data/keys/signing.key");
    config.email.smtp = None;
    config.email.outbox_dir = root.path().join("data/outbox");
    let state = oxident::state::AppState::from_config(config)
        .await
        .expect("state");
    let mode = |p: &str| {
        std::fs::metadata(root.path().join(p))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    for dir in ["data", "data/db", "data/keys"] {
        assert_eq!(mode(dir), 0o700, "{dir}");
    }
    assert_eq!(mode("data/db/oxident.sqlite"), 0o600);
    drop(state);
}
