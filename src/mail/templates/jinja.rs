//! The minijinja environment every Jinja template renders in, set up to behave as sydent's
//! `jinja2.Environment(autoescape=True)`: markupsafe's escaping (`&<>"'`, not `/`) in every
//! template, undefined values rendering empty, the final newline of a template dropped, and
//! `urlencode` as Jinja2's.

use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value};

use crate::mail::text::{python_quote, write_markupsafe};

/// The name of the custom auto-escape mode (markupsafe-compatible HTML escaping).
const MARKUPSAFE: &str = "markupsafe";

pub(super) fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // As Jinja2 (sydent's Environment(autoescape=True)): escape in every template.
    env.set_auto_escape_callback(|_| AutoEscape::Custom(MARKUPSAFE));
    env.set_formatter(markupsafe_formatter);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_keep_trailing_newline(false);
    // Debug info in errors could quote variable values (tokens); errors are logged.
    env.set_debug(false);
    env.add_filter("urlencode", jinja_urlencode);
    env
}

/// Writes values escaped exactly as Jinja2/markupsafe would, unless marked safe.
fn markupsafe_formatter(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match state.auto_escape() {
        // Our mode (and explicit "html" blocks): markupsafe escaping unless marked safe.
        AutoEscape::Custom(_) | AutoEscape::Html => write_value(out, value, !value.is_safe()),
        // `{% autoescape false %}` blocks.
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn write_value(out: &mut Output, value: &Value, escape: bool) -> Result<(), minijinja::Error> {
    if value.is_undefined() {
        return Ok(());
    }
    let text = if value.is_none() {
        "None".to_owned()
    } else if let Some(s) = value.as_str() {
        s.to_owned()
    } else {
        value.to_string()
    };
    let result = if escape {
        write_markupsafe(out, &text)
    } else {
        out.write_str(&text)
    };
    result.map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
}

/// Jinja2's `urlencode`: strings as `urllib.parse.quote(safe="/")`; mappings as a query
/// string of `quote(safe="")` pairs with `+` for spaces.
fn jinja_urlencode(value: &Value) -> Result<String, minijinja::Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    if let Some(s) = value.as_str() {
        return Ok(python_quote(s));
    }
    if value.kind() == minijinja::value::ValueKind::Map {
        let mut pairs = Vec::new();
        for key in value.try_iter()? {
            let item = value.get_item(&key)?;
            pairs.push(format!(
                "{}={}",
                quote_for_query(&key.to_string()),
                quote_for_query(&item.to_string())
            ));
        }
        return Ok(pairs.join("&"));
    }
    Ok(python_quote(&value.to_string()))
}

fn quote_for_query(value: &str) -> String {
    python_quote(value).replace('/', "%2F").replace("%20", "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_str(source: &str, pairs: &[(&str, &str)]) -> String {
        let mut env = new_environment();
        env.add_template_owned("t.eml.j2", source.to_owned())
            .expect("template compiles");
        let ctx: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
        env.get_template("t.eml.j2")
            .expect("template exists")
            .render(ctx)
            .expect("template renders")
    }

    #[test]
    fn escaping_is_markupsafe_compatible() {
        let v = r#"https://x/y?a=1&b=<i>"q"'s"#;
        assert_eq!(
            render_str(
                "{{ v }}|{{ v|safe }}|{{ v|e }}|{{ v|urlencode }}",
                &[("v", v)]
            ),
            "https://x/y?a=1&amp;b=&lt;i&gt;&#34;q&#34;&#39;s|https://x/y?a=1&b=<i>\"q\"'s|\
             https://x/y?a=1&amp;b=&lt;i&gt;&#34;q&#34;&#39;s|https%3A//x/y%3Fa%3D1%26b%3D%3Ci%3E%22q%22%27s"
        );
    }

    #[test]
    fn undefined_renders_empty_like_jinja2() {
        assert_eq!(
            render_str(
                "[{{ nope }}][{{ nope|safe }}][{{ nope|urlencode }}][{% if nope == \"m.space\" %}x{% endif %}]",
                &[]
            ),
            "[][][][]"
        );
    }

    #[test]
    fn trailing_newline_is_dropped_like_jinja2() {
        assert_eq!(render_str("a\n", &[]), "a");
        assert_eq!(render_str("a\n\n", &[]), "a\n");
    }
}
