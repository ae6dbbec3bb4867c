//! `cargo xtask spec-diff <upstream root>`: a structural comparison of spec/ with an upstream
//! tree (operations, parameters, body and response fields with their types, formats, patterns
//! and requiredness, status codes, security). Descriptions are ignored: ours are our own words.
//!
//! Each difference is one line `<operationId>: <ours|upstream>-only: <fact>`. Lines listed in
//! a ```` ```accepted <label> ```` block of spec/UPSTREAM.md (label = the upstream root's folder
//! name, e.g. `r0.3.0`, `latest`) are expected; any other line fails the run.

use crate::codegen::model::{Operation, ParamLocation, Spec, load_spec};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;

fn type_of(schema: &Value) -> String {
    let mut t = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".into(),
    };
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        t.push_str(&format!("({f})"));
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        t.push_str(&format!(" /{p}/"));
    }
    if let Some(e) = schema.get("enum") {
        t.push_str(&format!(" enum{e}"));
    }
    t
}

fn schema_facts(schema: &Value, at: &str, required: bool, out: &mut BTreeSet<String>) {
    let req = if required { " required" } else { "" };
    let shown = if at.is_empty() { "/" } else { at };
    out.insert(format!("{shown} {}{req}", type_of(schema)));
    let required_list: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            schema_facts(
                v,
                &format!("{at}/{k}"),
                required_list.contains(&k.as_str()),
                out,
            );
        }
    }
    for r in &required_list {
        if schema.pointer(&format!("/properties/{r}")).is_none() {
            out.insert(format!("{at}/{r} required (no schema)"));
        }
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert(format!("{shown} additionalProperties={b}"));
        }
        Some(s) => schema_facts(s, &format!("{at}/*"), false, out),
        None => {}
    }
    if let Some(items) = schema.get("items") {
        schema_facts(items, &format!("{at}/[]"), false, out);
    }
    // Alternatives are compared branch by branch at the same place: a schema that widens
    // upstream's (`anyOf: [upstream, {}]`) then differs by that one line, not by every field.
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            for b in branches {
                schema_facts(b, at, required, out);
            }
        }
    }
    if let Some(tuple) = schema.get("prefixItems").and_then(Value::as_array) {
        for (i, s) in tuple.iter().enumerate() {
            schema_facts(s, &format!("{at}/[{i}]"), false, out);
        }
    }
}

fn operation_facts(op: &Operation) -> BTreeSet<String> {
    let mut f = BTreeSet::new();
    f.insert(format!(
        "route {} {}",
        op.method.to_ascii_uppercase(),
        op.path
    ));
    if op.deprecated {
        f.insert("deprecated".into());
    }
    for p in &op.params {
        if p.location == ParamLocation::Header {
            continue;
        }
        f.insert(format!(
            "param {} {} {}{}",
            p.location.as_str(),
            p.name,
            type_of(&p.schema),
            if p.required { " required" } else { "" }
        ));
    }
    if let Some(b) = &op.body {
        // Whether the body parameter is flagged `required` is not compared: the API standards
        // require a JSON object body on every POST whatever the flag says.
        let mut facts = BTreeSet::new();
        schema_facts(&b.schema, "", false, &mut facts);
        f.extend(facts.into_iter().map(|x| format!("body {x}")));
    }
    for r in &op.responses {
        f.insert(format!("status {}", r.status));
        if let Some(s) = &r.schema {
            let mut facts = BTreeSet::new();
            schema_facts(s, "", true, &mut facts);
            f.extend(
                facts
                    .into_iter()
                    .map(|x| format!("response {} {x}", r.status)),
            );
        }
    }
    if op.security.is_empty() {
        f.insert("security none".into());
    } else {
        for alt in &op.security {
            f.insert(format!("security {}", alt.join("+")));
        }
    }
    f
}

/// A status documented on one side only is one difference (`status N`), not one per field.
fn drop_unshared_response_facts(a: &mut BTreeSet<String>, b: &BTreeSet<String>) {
    let statuses = |s: &BTreeSet<String>| -> BTreeSet<String> {
        s.iter()
            .filter_map(|f| f.strip_prefix("status ").map(str::to_string))
            .collect()
    };
    let shared: BTreeSet<String> = statuses(a).intersection(&statuses(b)).cloned().collect();
    a.retain(|f| match f.strip_prefix("response ") {
        Some(rest) => shared.iter().any(|st| rest.starts_with(&format!("{st} "))),
        None => true,
    });
}

fn index(spec: &Spec) -> BTreeMap<String, BTreeSet<String>> {
    spec.files
        .iter()
        .flat_map(|file| file.operations.iter())
        .map(|op| (op.operation_id.clone(), operation_facts(op)))
        .collect()
}

/// Every difference line, sorted.
pub fn differences(ours: &Spec, upstream: &Spec) -> Vec<String> {
    let a = index(ours);
    let b = index(upstream);
    let mut out = Vec::new();
    for (id, facts) in &a {
        match b.get(id) {
            None => out.push(format!("{id}: ours-only: operation")),
            Some(up) => {
                let mut facts = facts.clone();
                let mut up = up.clone();
                drop_unshared_response_facts(&mut facts, &up);
                drop_unshared_response_facts(&mut up, &facts);
                let (facts, up) = (&facts, &up);
                out.extend(
                    facts
                        .difference(up)
                        .map(|x| format!("{id}: ours-only: {x}")),
                );
                out.extend(
                    up.difference(facts)
                        .map(|x| format!("{id}: upstream-only: {x}")),
                );
            }
        }
    }
    for id in b.keys().filter(|id| !a.contains_key(*id)) {
        out.push(format!("{id}: upstream-only: operation"));
    }
    out.sort();
    out
}

/// An acceptance is an exact line, or a prefix ending in `*` (e.g. `bindV2: *`).
fn matches_acceptance(acceptance: &str, diff: &str) -> bool {
    match acceptance.strip_suffix('*') {
        Some(prefix) => diff.starts_with(prefix),
        None => acceptance == diff,
    }
}

/// The accepted lines for `label` from the fenced blocks of UPSTREAM.md.
pub fn accepted(upstream_md: &str, label: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in upstream_md.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("```") {
            if inside {
                inside = false;
            } else {
                let mut words = rest.split_whitespace();
                inside = words.next() == Some("accepted") && words.next() == Some(label);
            }
            continue;
        }
        if inside && !t.is_empty() {
            out.insert(t.to_string());
        }
    }
    out
}

pub fn run(spec_dir: &Path, upstream_root: &Path) -> Result<ExitCode> {
    let label = upstream_root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upstream")
        .to_string();
    let ours = load_spec(spec_dir)?;
    let upstream = load_spec(&upstream_root.join("data/api/identity"))
        .with_context(|| format!("loading upstream tree {}", upstream_root.display()))?;
    let md = std::fs::read_to_string(spec_dir.join("UPSTREAM.md")).unwrap_or_default();
    let accepted = accepted(&md, &label);
    let diffs = differences(&ours, &upstream);
    let is_accepted = |d: &String| accepted.iter().any(|a| matches_acceptance(a, d));
    let unexpected: Vec<&String> = diffs.iter().filter(|d| !is_accepted(d)).collect();
    let unused: Vec<&String> = accepted
        .iter()
        .filter(|a| !diffs.iter().any(|d| matches_acceptance(a, d)))
        .collect();
    for d in &diffs {
        let mark = if is_accepted(d) {
            "accepted "
        } else {
            "DIFFERS  "
        };
        println!("{mark}{d}");
    }
    for u in &unused {
        println!("UNUSED   {u}   (listed in UPSTREAM.md but no longer a difference)");
    }
    eprintln!(
        "spec-diff vs {label}: {} differences, {} accepted in spec/UPSTREAM.md, {} unexpected, {} stale acceptances",
        diffs.len(),
        diffs.len() - unexpected.len(),
        unexpected.len(),
        unused.len()
    );
    Ok(if unexpected.is_empty() && unused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_blocks_are_per_label() {
        let md = "x\n```accepted r0.3.0\na: ours-only: b\n```\n```accepted latest\nc: upstream-only: d\n```\n";
        assert_eq!(
            accepted(md, "latest").into_iter().collect::<Vec<_>>(),
            vec!["c: upstream-only: d"]
        );
        assert!(accepted(md, "r0.3.0").contains("a: ours-only: b"));
        assert!(matches_acceptance(
            "bindV2: *",
            "bindV2: ours-only: status 401"
        ));
        assert!(!matches_acceptance(
            "bindV2: *",
            "bind: ours-only: status 401"
        ));
    }
}
