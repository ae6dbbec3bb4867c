//! The fixture trees under `tests/fixtures/`: the model read from them, and snapshots of the
//! Rust generated for a few operations and for `server.rs`.

use super::{body, fixture, generate_standalone};
use expect_test::expect_file;
use serde_json::json;
use xtask::codegen::model::{Operation, ParamLocation, Spec, load_spec};

fn op<'a>(spec: &'a Spec, module: &str, operation_id: &str) -> &'a Operation {
    spec.files
        .iter()
        .filter(|f| f.module == module)
        .flat_map(|f| f.operations.iter())
        .find(|o| o.operation_id == operation_id)
        .unwrap_or_else(|| panic!("no operation {module}::{operation_id}"))
}

fn statuses(op: &Operation) -> Vec<&str> {
    op.responses.iter().map(|r| r.status.as_str()).collect()
}

#[test]
fn swagger2_model() {
    let spec = load_spec(&fixture("swagger2")).expect("fixture loads");
    let files: Vec<(&str, &str)> = spec
        .files
        .iter()
        .map(|f| (f.rel_path.as_str(), f.module.as_str()))
        .collect();
    // definitions/ holds no API document; only the two API files become modules.
    assert_eq!(
        files,
        [("accounts.yaml", "accounts"), ("lookup.yaml", "lookup")]
    );

    // Equal operationIds in different files are namespaced by file; the rest keep their name.
    let names: Vec<(&str, &str)> = spec
        .files
        .iter()
        .flat_map(|f| f.operations.iter())
        .map(|o| (o.operation_id.as_str(), o.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("logout", "logout"),
            ("register", "register"),
            ("getAccount", "get_account"),
            ("getVersions", "accounts_get_versions"),
            ("lookup", "lookup"),
            ("submitForm", "submit_form"),
            ("getVersions", "lookup_get_versions"),
        ]
    );

    // Form bodies: `consumes` on the operation, and Swagger 2.0 `in: formData` parameters.
    let register = op(&spec, "accounts", "register");
    let body = register.body.as_ref().expect("register has a body");
    assert!(body.form && body.required);
    assert!(
        !op(&spec, "lookup", "lookup")
            .body
            .as_ref()
            .expect("body")
            .form
    );
    let submit = op(&spec, "lookup", "submitForm");
    let form = submit.body.as_ref().expect("formData becomes a body");
    assert!(form.form);
    assert_eq!(
        form.schema["properties"]["attempt"],
        json!({"type": "integer"})
    );
    assert_eq!(form.schema["required"], json!(["token"]));
    assert!(submit.is_html());

    // `$ref` with siblings: the siblings refine the target, at the body and inside it.
    assert_eq!(
        body.schema["description"],
        "The registration request (a sibling of `$ref`)."
    );
    // It names the schema it refers to (any pointer is an identity), annotations aside.
    let mut user_id = body.schema["properties"]["user_id"].clone();
    assert_eq!(user_id[xtask::codegen::load::REF_NAME], "UserId");
    xtask::codegen::load::strip_markers(&mut user_id);
    assert_eq!(
        user_id,
        json!({"type": "string", "format": "fx-user-id", "description": "The user to register.",
               "x-changedInVersion": "1.2"})
    );
    // `x-nullable` becomes a `null` type; `deprecated` is kept on the field.
    assert_eq!(
        body.schema["properties"]["display-name"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        body.schema["properties"]["legacy_token"]["deprecated"],
        json!(true)
    );

    // Response keys as written (ranges upper-cased); examples by media type.
    assert_eq!(statuses(register), ["200", "3XX", "400"]);
    assert_eq!(register.success().map(|r| r.status.as_str()), Some("200"));
    assert_eq!(
        register.responses[0].examples,
        [json!({"user_id": "@a:b", "token": "abc"})]
    );

    let account = op(&spec, "accounts", "getAccount");
    assert_eq!(account.path, "/_fixture/api/v1/account/{userId}");
    assert_eq!(statuses(account), ["200", "4XX"]);
    assert_eq!(account.security, [vec!["accessTokenBearer".to_string()]]);
    let params: Vec<(&str, ParamLocation, bool)> = account
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.location, p.required))
        .collect();
    assert_eq!(
        params,
        [
            ("userId", ParamLocation::Path, true),
            ("sid", ParamLocation::Query, false),
            ("limit", ParamLocation::Query, false),
            ("X-Trace", ParamLocation::Header, false),
        ]
    );
    // An integer `x-example` for a string parameter is shown as the string a client sends.
    assert_eq!(account.params[1].example, Some(json!("1234")));
    // Header parameters are typed, validated and decoded with the others (credentials in
    // `Authorization` are the security schemes' business, not a parameter).
    let params_schema = account.params_schema().expect("params");
    assert!(params_schema["properties"].get("X-Trace").is_some());
    assert_eq!(params_schema["properties"]["limit"]["format"], "int32");
    // Tuple-form `items` becomes `prefixItems`.
    let response = account
        .success()
        .and_then(|r| r.schema.as_ref())
        .expect("schema");
    assert_eq!(
        response["properties"]["threepids"]["items"]["prefixItems"],
        json!([{"type": "string"}, {"type": "string"}])
    );
    assert!(op(&spec, "accounts", "logout").deprecated);
    // Security schemes reached through `$ref` under `securityDefinitions`.
    let accounts = &spec.files[0];
    assert_eq!(
        accounts.security_schemes["accessTokenBearer"]["in"],
        "header"
    );
}

#[test]
fn openapi3_model() {
    let spec = load_spec(&fixture("openapi31")).expect("fixture loads");
    let store = op(&spec, "invites", "storeInvite");
    // The base path comes from the server URL's variables.
    assert_eq!(store.path, "/_fixture/invites/v3/invite");
    assert_eq!(
        op(&spec, "legacy", "getStatus").path,
        "/_fixture/legacy/status"
    );
    // requestBody with a components ref whose allOf is merged into one object.
    let body = store.body.as_ref().expect("body");
    assert!(body.required && !body.form);
    assert!(body.schema.get("allOf").is_none());
    assert_eq!(
        body.schema["required"],
        json!(["medium", "address", "room_id"])
    );
    assert_eq!(
        body.schema["properties"]["sender_display_name"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        body.schema["description"],
        "An invite to store (allOf refines the base)."
    );
    // Response examples (`examples: {name: {value}}`) and a relative-file ref in components.
    let ok = store.success().expect("200");
    assert_eq!(ok.examples.len(), 1);
    assert_eq!(
        ok.schema.as_ref().expect("schema")["properties"]["public_keys"]["items"]["title"],
        "PublicKey"
    );
    assert_eq!(store.security, [vec!["accessTokenBearer".to_string()]]);
    let get = op(&spec, "invites", "getInvite");
    assert_eq!(get.params[1].example, Some(json!(true)));
    // OpenAPI 3.0 `nullable`.
    let status = op(&spec, "legacy", "getStatus");
    let schema = status
        .success()
        .and_then(|r| r.schema.as_ref())
        .expect("schema");
    assert_eq!(
        schema["properties"]["note"]["type"],
        json!(["string", "null"])
    );
    assert!(status.deprecated);
    // An operationId that is no Rust identifier.
    assert_eq!(op(&spec, "invites", "2faStatus").name, "op_2fa_status");
}

#[test]
fn swagger2_generated_rust() {
    let files = generate_standalone(&fixture("swagger2"), "fixture-swagger2-api");
    expect_file!["../snapshots/swagger2/accounts/get_account.rs"]
        .assert_eq(&body(&files["src/accounts/get_account.rs"]));
    expect_file!["../snapshots/swagger2/accounts/register.rs"]
        .assert_eq(&body(&files["src/accounts/register.rs"]));
    expect_file!["../snapshots/swagger2/lookup/lookup.rs"]
        .assert_eq(&body(&files["src/lookup/lookup.rs"]));
    expect_file!["../snapshots/swagger2/server.rs"].assert_eq(&body(&files["src/server.rs"]));
    // Schemas used by several operations (the error body) are validated in one shared place.
    expect_file!["../snapshots/swagger2/shared.rs"].assert_eq(&body(&files["src/shared.rs"]));
    // One named type per shape, for the whole crate.
    expect_file!["../snapshots/swagger2/types.rs"].assert_eq(&body(&files["src/types.rs"]));

    let types = &files["src/types.rs"];
    let account = &files["src/accounts/get_account.rs"];
    // A part whose schema has a shared validator re-exports it under the part's name.
    assert!(account.contains("pub use crate::shared::validate_error as validate_response_4xx;"));
    for needle in [
        "pub threepids: Vec<(String, String)>,",
        "pub devices: Option<std::collections::BTreeMap<String, String>>,",
        "pub deactivated_ts: Option<i64>,",
        "pub limit: Option<i32>,",
        "#[serde(rename = \"userId\")]\n    pub user_id: String,",
        "#[serde(rename = \"3pid-only\")]\n    V3pidOnly,",
    ] {
        assert!(types.contains(needle), "types.rs lacks {needle:?}");
    }
    assert!(
        types.contains(
            "#[serde(flatten)]\n    pub extra: serde_json::Map<String, serde_json::Value>,"
        )
    );
    let register = &files["src/accounts/register.rs"];
    assert!(
        register.contains("RegistrationRequest as RequestBody"),
        "{register}"
    );
    assert!(types.contains("**Deprecated** in the specification."));
    assert!(
        !register.contains("added-in"),
        "shortcodes are removed from descriptions"
    );
    assert!(register.contains("const FORM_KINDS: Option<crate::rt::Kinds> = Some("));
    let server = &files["src/server.rs"];
    assert!(server.contains("pub trait FixtureSwagger2Api"));
    assert!(
        server.contains("fn accounts_get_versions(") && server.contains("fn lookup_get_versions(")
    );
}

#[test]
fn openapi31_generated_rust() {
    let files = generate_standalone(&fixture("openapi31"), "fixture-openapi31-api");
    expect_file!["../snapshots/openapi31/invites/store_invite.rs"]
        .assert_eq(&body(&files["src/invites/store_invite.rs"]));
    expect_file!["../snapshots/openapi31/legacy/get_status.rs"]
        .assert_eq(&body(&files["src/legacy/get_status.rs"]));
    expect_file!["../snapshots/openapi31/server.rs"].assert_eq(&body(&files["src/server.rs"]));
    expect_file!["../snapshots/openapi31/types.rs"].assert_eq(&body(&files["src/types.rs"]));

    let store = &files["src/types.rs"];
    for needle in [
        "pub struct InviteRequest {",
        "pub sender_display_name: Option<String>,",
        // Required but nullable: always sent, possibly `null`.
        "pub display_name: Option<String>,",
        "pub expires_in: Option<u32>,",
        "pub public_keys: Vec<crate::types::PublicKey>,",
        "pub struct PublicKey {",
    ] {
        assert!(store.contains(needle), "types.rs lacks {needle:?}");
    }
}

#[test]
fn generation_is_deterministic() {
    for (name, crate_name) in [("swagger2", "a"), ("openapi31", "b")] {
        let first = generate_standalone(&fixture(name), crate_name);
        let second = generate_standalone(&fixture(name), crate_name);
        assert!(first == second, "{name}: two runs differ");
    }
}
