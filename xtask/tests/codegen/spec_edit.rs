//! Editing a field's type in (a copy of) spec/ changes the generated struct, what the router
//! types form fields as, the validator, and the bundled document.

use super::{copy_tree, relative};
use std::path::Path;
use xtask::codegen::{self, Options};

fn generate(spec_dir: &Path) -> std::collections::BTreeMap<String, String> {
    let root = Path::new("/nonexistent/workspace");
    let mut opts = Options::workspace(root, false);
    opts.spec_dir = spec_dir.to_path_buf();
    relative(codegen::generate(&opts).expect("codegen succeeds"), root)
}

/// The body validator: from `pub fn validate_body` to the next validator.
fn body_validator(text: &str) -> &str {
    let start = text.find("pub fn validate_body").expect("a body validator");
    let rest = &text[start..];
    let end = rest.find("pub fn validate_response_").unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn changing_a_field_type_changes_type_router_facts_and_validator() {
    let original = xtask::workspace_root().join("spec");
    let tmp = tempfile::tempdir().expect("temp dir");
    let edited = tmp.path().join("spec");
    copy_tree(&original, &edited);
    let def = edited.join("definitions/request_email_validation.yaml");
    let text = std::fs::read_to_string(&def).expect("read");
    let changed = text.replacen(
        "  send_attempt:\n    type: integer",
        "  send_attempt:\n    type: string",
        1,
    );
    assert_ne!(
        text, changed,
        "the spec no longer has an integer send_attempt"
    );
    std::fs::write(&def, changed).expect("write");

    let before = generate(&original);
    let after = generate(&edited);
    let file = "generated/src/v2_email_associations/email_request_token_v2.rs";
    let (b, a) = (&before[file], &after[file]);

    // The struct field (the type the router decodes the body into and hands the handler),
    // in the crate's `types` module.
    let types = "generated/src/types.rs";
    assert!(before[types].contains("pub send_attempt: i64,"));
    assert!(after[types].contains("pub send_attempt: String,"));
    // The validator: the compiled check for the field changes.
    let (vb, va) = (body_validator(b), body_validator(a));
    assert!(vb.contains("send_attempt") && va.contains("send_attempt"));
    assert_ne!(vb, va, "the body validator did not change");
    // The router's form-field typing, if the operation accepts forms, follows the type too.
    if b.contains("(\"send_attempt\", crate::rt::ScalarKind::Integer)") {
        assert!(a.contains("(\"send_attempt\", crate::rt::ScalarKind::String)"));
    }
    // Everything else in the crate is untouched but the bundled document and the reference.
    let changed: Vec<&String> = before
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert_eq!(
        changed,
        [
            "docs/api.md",
            "generated/openapi.json",
            "generated/src/types.rs",
            "generated/src/v2_email_associations/email_request_token_v2.rs",
        ]
    );
}
