//! The emitted validators against the `jsonschema` crate (draft 2020-12, formats asserted,
//! the Matrix `mx-*` formats registered): for every case of
//! `fixtures/validators_cases.json`, both agree on validity and report the same instance
//! locations with corresponding kinds.
//!
//! Cases marked `"reference": false` use OpenAPI extras that jsonschema ignores
//! (`nullable`, `int32`/`int64`); they are checked against their valid/invalid labels only.
//!
//! `fixtures/validators_fixture.rs` is emitter output for those cases, kept up to date by
//! the `validators_fixture_is_up_to_date` test of xtask (`cargo test -p xtask`).

use std::collections::BTreeSet;

use jsonschema::error::ValidationErrorKind as Their;
use oxident_api::rt::formats;
use oxident_api::rt::validate::{ErrorKind, Errors};
use serde_json::{Value, json};

/// The fixture refers to the runtime as `crate::rt`, as generated code in oxident-api does.
mod rt {
    pub use oxident_api::rt::*;
}

#[path = "fixtures/validators_fixture.rs"]
mod fixture;

fn cases() -> Vec<Value> {
    let text = include_str!("fixtures/validators_cases.json");
    match serde_json::from_str(text) {
        Ok(Value::Array(cases)) => cases,
        other => panic!("validators_cases.json must be an array: {other:?}"),
    }
}

fn validator(name: &str) -> fixture::Validator {
    find(fixture::VALIDATORS, name)
}

fn find(table: &[(&str, fixture::Validator)], name: &str) -> fixture::Validator {
    match table.iter().find(|(n, _)| *n == name) {
        Some((_, f)) => *f,
        None => panic!("no fixture validator for case {name}; run `cargo test -p xtask`"),
    }
}

fn reference(schema: &Value) -> jsonschema::Validator {
    let built = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("mx-user-id", formats::is_mx_user_id)
        .with_format("mx-room-id", formats::is_mx_room_id)
        .with_format("mx-room-alias", formats::is_mx_room_alias)
        .with_format("mx-event-id", formats::is_mx_event_id)
        .with_format("mx-mxc-uri", formats::is_mx_mxc_uri)
        .with_format("mx-server-name", formats::is_mx_server_name)
        .with_format("mx-unpadded-base64", formats::is_mx_unpadded_base64)
        .with_format(
            "mx-urlsafe-unpadded-base64",
            formats::is_mx_urlsafe_unpadded_base64,
        )
        .build(schema);
    match built {
        Ok(v) => v,
        Err(e) => panic!("jsonschema rejects the schema {schema}: {e}"),
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// jsonschema's errors as (pointer, kind) in our conventions: a missing or unexpected
/// property is reported at the property's own pointer.
fn their_errors(v: &jsonschema::Validator, instance: &Value) -> BTreeSet<(String, ErrorKind)> {
    let mut out = BTreeSet::new();
    for e in v.iter_errors(instance) {
        let at = e.instance_path().as_str().to_owned();
        let kind = match e.kind() {
            Their::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                out.insert((format!("{at}/{}", escape(name)), ErrorKind::Required));
                continue;
            }
            Their::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    out.insert((
                        format!("{at}/{}", escape(name)),
                        ErrorKind::AdditionalProperty,
                    ));
                }
                continue;
            }
            Their::Type { .. } => ErrorKind::Type,
            Their::Format { .. } => ErrorKind::Format,
            Their::Pattern { .. } => ErrorKind::Pattern,
            Their::Enum { .. } | Their::Constant { .. } => ErrorKind::Enum,
            Their::MinLength { .. }
            | Their::MaxLength { .. }
            | Their::MinItems { .. }
            | Their::MaxItems { .. }
            | Their::MinProperties { .. }
            | Their::MaxProperties { .. } => ErrorKind::Length,
            Their::Minimum { .. }
            | Their::Maximum { .. }
            | Their::ExclusiveMinimum { .. }
            | Their::ExclusiveMaximum { .. }
            | Their::MultipleOf { .. } => ErrorKind::Range,
            Their::AnyOf { .. }
            | Their::OneOfNotValid { .. }
            | Their::OneOfMultipleValid { .. }
            | Their::Not { .. }
            | Their::FalseSchema
            | Their::UniqueItems
            | Their::Contains => ErrorKind::Other,
            other => panic!("unmapped jsonschema error kind {other:?} at {at:?}"),
        };
        out.insert((at, kind));
    }
    out
}

fn our_errors(result: Result<(), Errors>) -> BTreeSet<(String, ErrorKind)> {
    match result {
        Ok(()) => BTreeSet::new(),
        Err(errors) => {
            assert!(!errors.is_empty(), "Err with no errors");
            errors.into_iter().map(|e| (e.pointer, e.kind)).collect()
        }
    }
}

#[test]
fn emitted_validators_agree_with_jsonschema() {
    let mut compared = 0;
    let mut failures = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap_or_default();
        let ours = validator(name);
        // The same schema emitted as a response's validator must say exactly the same.
        let lean = find(fixture::LEAN_VALIDATORS, name);
        // Cases using what jsonschema does not know (`nullable`, int32/int64) are checked
        // against their labels only.
        let theirs = (case["reference"] != json!(false)).then(|| reference(&case["schema"]));
        for (label, expect_valid) in [("valid", true), ("invalid", false)] {
            let instances = case[label]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            assert!(
                !instances.is_empty(),
                "case {name} has no {label} instances"
            );
            for instance in instances {
                compared += 1;
                let mine = our_errors(ours(instance));
                let mine_lean = our_errors(lean(instance));
                if mine_lean != mine {
                    failures.push(format!(
                        "case {name}, {label} instance {instance}: request-side {mine:?}, response-side {mine_lean:?}"
                    ));
                }
                let reference = match &theirs {
                    Some(theirs) => their_errors(theirs, instance),
                    None => mine.clone(),
                };
                if mine.is_empty() != expect_valid
                    || reference.is_empty() != expect_valid
                    || mine != reference
                {
                    failures.push(format!(
                        "case {name}, {label} instance {instance}:\n  ours:       {mine:?}\n  jsonschema: {reference:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} instances disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared > 100, "only {compared} instances compared");
}

#[test]
fn every_case_has_a_fixture_validator_and_vice_versa() {
    let names: BTreeSet<String> = cases()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let fixture: BTreeSet<String> = fixture::VALIDATORS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    assert_eq!(names, fixture, "stale fixture: run `cargo test -p xtask`");
}

fn errors_of(case: &str, instance: &Value) -> Vec<(String, ErrorKind, String)> {
    match validator(case)(instance) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| (e.pointer, e.kind, e.message))
            .collect(),
    }
}

#[test]
fn email_with_two_at_signs_is_a_format_error() {
    assert_eq!(
        errors_of("formats", &json!({"email": "a@b@c"})),
        [(
            "/email".to_owned(),
            ErrorKind::Format,
            r#""a@b@c" is not a valid email address"#.to_owned()
        )]
    );
}

#[test]
fn missing_nested_required_property_points_at_the_property() {
    let errors = errors_of("threepid", &json!({"threepid": {"address": "a@b.c"}}));
    assert_eq!(
        errors,
        [(
            "/threepid/medium".to_owned(),
            ErrorKind::Required,
            r#"missing required property "medium""#.to_owned()
        )]
    );
    let errors = errors_of(
        "threepids",
        &json!({"threepids": [{"medium": "m", "address": "a"}, {"address": "1"}]}),
    );
    assert_eq!(errors[0].0, "/threepids/1/medium");
    assert_eq!(errors[0].1, ErrorKind::Required);
}

#[test]
fn wrong_type_is_a_type_error() {
    assert_eq!(
        errors_of(
            "bind",
            &json!({"sid": 1234, "client_secret": "s", "mxid": "@a:b"})
        ),
        [(
            "/sid".to_owned(),
            ErrorKind::Type,
            "expected string, found number".to_owned()
        )]
    );
    assert_eq!(
        errors_of("bind", &json!([])),
        [(
            String::new(),
            ErrorKind::Type,
            "expected object, found array".to_owned()
        )]
    );
    assert_eq!(
        errors_of("tuples", &json!({"closed": ["a", 1.5]})),
        [(
            "/closed/1".to_owned(),
            ErrorKind::Type,
            "expected integer or null, found number".to_owned()
        )]
    );
}

#[test]
fn pointers_escape_tilde_and_slash() {
    let errors = errors_of(
        "escaping",
        &json!({"a/b": "1", "m~n": 1, "c~d": {"~1": 2}, "e/f~": 0}),
    );
    let pointers: BTreeSet<(String, ErrorKind)> =
        errors.into_iter().map(|(p, k, _)| (p, k)).collect();
    let expected: BTreeSet<(String, ErrorKind)> = [
        ("/a~1b", ErrorKind::Type),
        ("/c~0d/~01", ErrorKind::Type),
        ("/c~0d/x~1y~0z", ErrorKind::Required),
        ("/e~1f~0", ErrorKind::AdditionalProperty),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_owned(), k))
    .collect();
    assert_eq!(pointers, expected);
}

#[test]
fn all_errors_are_reported_and_displayed_one_per_line() {
    let result = validator("bind")(&json!({"sid": "", "client_secret": "has space", "mxid": 5}));
    let errors = match result {
        Err(errors) => errors,
        Ok(()) => panic!("invalid body accepted"),
    };
    assert_eq!(
        errors.to_string(),
        [
            r#"/client_secret: "has space" does not match the pattern "^[0-9a-zA-Z.=_-]+$""#,
            "/mxid: expected string, found number",
            "/sid: must be at least 1 character long, found 0",
        ]
        .join("\n")
    );
}

#[test]
fn valid_bodies_pass() {
    assert!(
        validator("bind")(&json!({"sid": "1", "client_secret": "abc", "mxid": "@a:b"})).is_ok()
    );
    let addresses: Vec<String> = (0..5).map(|i| format!("addr{i}")).collect();
    assert!(
        validator("lookup")(&json!({"algorithm": "sha256", "pepper": "p", "addresses": addresses}))
            .is_ok()
    );
}
