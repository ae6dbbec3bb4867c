//! Python `%` templates, as sydent renders them: its `%(message)s` response pages, its older
//! `.eml` mails and its invite subjects (`%(sender_display_name)s has invited you`). A mail
//! template sees every value three ways, as sydent gives them: as it is, `<name>_forhtml`
//! (`html.escape`) and `<name>_forurl` (`urllib.parse.quote`).
//!
//! Kept by hand: no crate formats Python's `%(name)s` mappings, and the rules are three
//! (differential tests below hold them to CPython's `%` operator).

use std::collections::BTreeMap;

use crate::mail::text::python_quote;

/// Python `%`-style substitution of `%(name)s` (unknown names → empty) and `%%` → `%`;
/// any other `%` is kept. Where Python would raise (an unknown name, a lone `%`), this
/// renders what it can: an operator's subject with a typo still sends the mail.
pub(super) fn percent_format(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(named) = after.strip_prefix('(')
            && let Some(close) = named.find(")s")
            && !named[..close].contains(['(', '%'])
        {
            if let Some(value) = values.get(&named[..close]) {
                out.push_str(value);
            }
            rest = &named[close + 2..];
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// sydent's variables for `%` mail templates: each value as it is, `<name>_forhtml`
/// (Python's `html.escape`) and `<name>_forurl` (`urllib.parse.quote`).
pub(super) fn with_percent_variants(ctx: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (name, value) in ctx {
        all.insert(format!("{name}_forhtml"), python_html_escape(value));
        all.insert(format!("{name}_forurl"), python_quote(value));
        all.insert(name.clone(), value.clone());
    }
    all
}

/// Python's `html.escape(value, quote=True)` (not markupsafe's: `&quot;` and `&#x27;`).
fn python_html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sydent::cpython;
    use proptest::prelude::*;
    use serde_json::json;

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn percent_format_is_python_like() {
        let values = ctx(&[("sender_display_name", "Alice")]);
        assert_eq!(
            percent_format(
                "%(sender_display_name)s has invited you (100%%) %(nope)s %d",
                &values
            ),
            "Alice has invited you (100%)  %d"
        );
    }

    /// A template Python formats without error (names it knows, `%%`, text without a lone
    /// `%`) with the values it names, plus one more.
    fn template_and_values() -> impl Strategy<Value = (String, BTreeMap<String, String>)> {
        let name = "[a-z_][a-z0-9_.]{0,8}";
        // Values hold what escaping and quoting treat specially, and non-ASCII text.
        let value = "[a-zA-Z0-9 %&<>\"'/?=+:@#~._é€😀-]{0,12}";
        let text = "[a-zA-Z0-9 ()<>&\"'s.é\n-]{0,10}";
        prop::collection::btree_map(name, value, 1..5).prop_flat_map(move |values| {
            let names: Vec<String> = values.keys().cloned().collect();
            let piece = prop_oneof![
                text,
                Just("%%".to_owned()),
                prop::sample::select(names).prop_map(|n| format!("%({n})s")),
            ];
            (prop::collection::vec(piece, 0..8), Just(values))
                .prop_map(|(pieces, values)| (pieces.concat(), values))
        })
    }

    /// sydent's `%` mails: `template % substitutions`, with each value's `_forhtml` and
    /// `_forurl` twins made by `html.escape` and `urllib.parse.quote`.
    const SYDENT_PERCENT: &str = r#"
import html, json, sys, urllib.parse
answers = []
for case in json.load(sys.stdin):
    subs = {}
    for name, value in case["values"].items():
        subs[name] = value
        subs[name + "_forhtml"] = html.escape(value)
        subs[name + "_forurl"] = urllib.parse.quote(value)
    answers.append({"variants": subs, "formatted": case["template"] % subs})
json.dump(answers, sys.stdout)
"#;

    #[test]
    fn percent_templates_and_variants_match_cpython() {
        let mut cases = cpython::samples(template_and_values(), 300);
        cases.push((
            "%(a)s%%(a)s%(a_forurl)s %(a_forhtml)s".to_owned(),
            ctx(&[("a", "x y/é&<'\"%")]),
        ));
        let input: Vec<_> = cases
            .iter()
            .map(|(template, values)| json!({"template": template, "values": values}))
            .collect();
        let answers = cpython::run(SYDENT_PERCENT, &json!(input));
        for ((template, values), answer) in cases.iter().zip(answers.as_array().expect("list")) {
            let variants = with_percent_variants(values);
            assert_eq!(json!(variants), answer["variants"], "values {values:?}");
            assert_eq!(
                percent_format(template, &variants),
                answer["formatted"].as_str().expect("text"),
                "template {template:?} with {values:?}"
            );
        }
    }
}
