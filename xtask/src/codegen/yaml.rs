//! Spec documents → `serde_json::Value`: JSON through `serde_json`, YAML through a YAML 1.2
//! event parser (`granit-parser`, the maintained fork of saphyr's parser that serde-saphyr
//! uses; unlike saphyr-parser it reads the indentation real specs use, such as Docker's flow mappings
//! closed at their key's column) with our own typing of scalars.
//!
//! Why not a serde YAML crate: the value types of those crates cannot hold an integer beyond
//! 64 bits (`maximum: 340282366920938463463374607431768211455` is a real bound) and some
//! still type YAML 1.1 scalars (`2020-01-01`, `yes`); building the value from parser events
//! lets each plain scalar be typed by the YAML 1.2 core schema, big integers kept as the
//! number nearest to them, and mapping keys taken verbatim (`200:` is the key `"200"`), without
//! ever touching the document's text. Aliases are expanded with a size budget (a "billion
//! laughs" document is an error, not an out-of-memory), nesting is bounded, and YAML 1.1 merge
//! keys (`<<: *base`), which some OpenAPI files use, are honoured.
//!
//! JSON (a `.json` file, or text starting with `{` or `[`) goes through `serde_json`, so every JSON
//! escape (surrogate pairs included) means what JSON says. `saphyr-parser` itself refused Docker's
//! spec, which libyaml accepts. The loader this replaced patched the document's *text* to get such
//! integers through a serde value type, and panicked on an em dash; the archived `serde_yaml` types
//! YAML 1.1. An integer beyond 64 bits becomes the nearest `f64` (`maximum: 2^128-1`); nesting is
//! bounded at 128 levels, as in serde_json; duplicate keys are errors.

use anyhow::{Result, anyhow, bail};
use granit_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Deepest nesting of collections accepted (serde_json's own default is 128).
pub const MAX_DEPTH: usize = 128;
/// Most values one document may expand to through aliases.
const MAX_NODES: usize = 20_000_000;

/// Parses a spec document. JSON (a `.json` file, or any text that starts with `{` or `[`) goes
/// through `serde_json`, which reads every JSON escape (surrogate pairs included) the way
/// JSON defines them; anything else, or JSON text `serde_json` refuses, is read as YAML.
pub fn parse_document(text: &str, json_hint: bool) -> Result<Value> {
    let looks_json = json_hint || text.trim_start().starts_with(['{', '[']);
    if looks_json {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => return Ok(v),
            Err(e) if json_hint => return Err(anyhow!("invalid JSON: {e}")),
            Err(_) => {}
        }
    }
    parse_yaml(text)
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
    },
    Map {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<Key>,
        /// `<<` merge sources, applied at the end (own keys win).
        merges: Vec<Value>,
        anchor: usize,
    },
}

enum Key {
    Name(String),
    /// YAML 1.1's merge key `<<` (plain, not quoted).
    Merge,
}

/// Reads the first YAML document of `text` (a spec is one document).
pub fn parse_yaml(text: &str) -> Result<Value> {
    let mut anchors: HashMap<usize, (Value, usize)> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut nodes: usize = 0;
    let mut root: Option<Value> = None;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| anyhow!("YAML: {e}"))?;
        let at = || format!("line {} column {}", span.start.line(), span.start.col() + 1);
        let (value, anchor, plain_key) = match event {
            Event::StreamStart | Event::DocumentStart(..) | Event::Anchor(..) => continue,
            Event::DocumentEnd | Event::StreamEnd => {
                if root.is_some() || matches!(event, Event::StreamEnd) {
                    break;
                }
                continue;
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    bail!("YAML: nested deeper than {MAX_DEPTH} levels at {}", at());
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        key: None,
                        merges: Vec::new(),
                        anchor,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, anchor }) => (Value::Array(items), anchor, false),
                Some(Frame::Map {
                    mut map,
                    key,
                    merges,
                    anchor,
                }) => {
                    if key.is_some() {
                        bail!("YAML: a mapping key without a value at {}", at());
                    }
                    for source in merges {
                        merge_under(&mut map, source, &at)?;
                    }
                    (Value::Object(map), anchor, false)
                }
                None => bail!("YAML: unbalanced collection end at {}", at()),
            },
            Event::Alias(id) => {
                let (value, size) = anchors
                    .get(&id)
                    .ok_or_else(|| anyhow!("YAML: alias to an unknown anchor at {}", at()))?;
                nodes = nodes.saturating_add(*size);
                if nodes > MAX_NODES {
                    bail!(
                        "YAML: aliases expand the document beyond {MAX_NODES} values at {}",
                        at()
                    );
                }
                (value.clone(), 0, false)
            }
            Event::UnresolvedAlias(name) => {
                bail!("YAML: alias *{name} to an unknown anchor at {}", at())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| (t.handle().to_string(), t.suffix().to_string()));
                let value = scalar(&text, style, tag.as_ref());
                let plain_key = style == ScalarStyle::Plain && text == "<<";
                // A key is the scalar's text as written (`200`, `true`, `1.0` stay so).
                let value = match stack.last() {
                    Some(Frame::Map { key: None, .. }) => Value::String(text.into_owned()),
                    _ => value,
                };
                (value, anchor, plain_key)
            }
            // Comments and events of future versions carry no data.
            _ => continue,
        };
        nodes = nodes.saturating_add(1);
        if nodes > MAX_NODES {
            bail!("YAML: more than {MAX_NODES} values");
        }
        if anchor != 0 {
            let size = count_nodes(&value);
            anchors.insert(anchor, (value.clone(), size));
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map, key, merges, ..
            }) => match key.take() {
                None => match value {
                    Value::String(_) if plain_key => *key = Some(Key::Merge),
                    Value::String(k) => *key = Some(Key::Name(k)),
                    _ => bail!("YAML: only scalar mapping keys are supported (at {})", at()),
                },
                Some(Key::Merge) => merges.push(value),
                Some(Key::Name(k)) => {
                    if map.contains_key(&k) {
                        bail!("YAML: duplicate key {k:?} at {}", at());
                    }
                    map.insert(k, value);
                }
            },
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

/// Applies a `<<` merge: a mapping or a list of mappings whose keys the own mapping lacks.
fn merge_under(map: &mut Map<String, Value>, source: Value, at: &dyn Fn() -> String) -> Result<()> {
    match source {
        Value::Object(m) => {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
        Value::Array(list) => {
            for item in list {
                if !item.is_object() {
                    bail!("YAML: `<<` merges mappings only (at {})", at());
                }
                merge_under(map, item, at)?;
            }
        }
        _ => bail!("YAML: `<<` merges mappings only (at {})", at()),
    }
    Ok(())
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().map(count_nodes).fold(1, usize::saturating_add),
        Value::Object(m) => m.values().map(count_nodes).fold(1, usize::saturating_add),
        _ => 1,
    }
}

/// Types a scalar by the YAML 1.2 core schema: only plain scalars (and explicit core tags)
/// are anything but strings.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&(String, String)>) -> Value {
    if let Some((handle, suffix)) = tag {
        let core = handle == "!!" || handle == "tag:yaml.org,2002:";
        return match (core, suffix.as_str()) {
            (true, "str") => Value::String(text.to_string()),
            (true, "null") => Value::Null,
            (true, "bool" | "int" | "float") => plain(text),
            // Unknown tags are annotations: the value is read as if untagged.
            _ if style == ScalarStyle::Plain => plain(text),
            _ => Value::String(text.to_string()),
        };
    }
    if style == ScalarStyle::Plain {
        plain(text)
    } else {
        Value::String(text.to_string())
    }
}

fn plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Value::String(text.to_string()),
        _ => {}
    }
    if let Some(n) = integer(text) {
        return Value::Number(n);
    }
    if is_float(text)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`; beyond 64 bits, the nearest `f64`.
fn integer(text: &str) -> Option<Number> {
    let (radix, digits, negative) = if let Some(h) = text.strip_prefix("0x") {
        (16, h, false)
    } else if let Some(o) = text.strip_prefix("0o") {
        (8, o, false)
    } else {
        let (neg, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        (10, rest, neg)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if radix == 10 {
        if let Ok(i) = text.trim_start_matches('+').parse::<i64>() {
            return Some(Number::from(i));
        }
        if !negative && let Ok(u) = digits.parse::<u64>() {
            return Some(Number::from(u));
        }
        let f = text.trim_start_matches('+').parse::<f64>().ok()?;
        return Number::from_f64(f);
    }
    match u64::from_str_radix(digits, radix) {
        Ok(u) => Some(Number::from(u)),
        Err(_) => {
            let f = digits.chars().fold(0f64, |acc, c| {
                acc * f64::from(radix) + f64::from(c.to_digit(radix).unwrap_or(0))
            });
            Number::from_f64(f)
        }
    }
}

/// The core schema's float: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_float(text: &str) -> bool {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.chars().all(|c| c.is_ascii_digit())
                && frac.chars().all(|c| c.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.chars().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_schema_typing() -> Result<()> {
        let v = parse_yaml(
            "a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: yes\ng: 2020-01-01\nh: '3'\ni: 0x1F\nj: .inf\nk: 1e3\n200: x\nl: !!str 5\nm: \"true\"\n",
        )?;
        assert_eq!(
            v,
            json!({"a": 1, "b": -2, "c": 1.5, "d": true, "e": null, "f": "yes",
                "g": "2020-01-01", "h": "3", "i": 31, "j": ".inf", "k": 1000.0, "200": "x",
                "l": "5", "m": "true"})
        );
        Ok(())
    }

    #[test]
    fn integers_beyond_64_bits_stay_numbers_and_text_is_never_patched() -> Result<()> {
        // The em dash broke the old text-rewriting loader (a panic on a char boundary).
        let v = parse_yaml(
            "d: Limits — see below\na: 340282366920938463463374607431768211455\nb: [1, 18446744073709551616]\nc: '99999999999999999999999'\n",
        )?;
        assert_eq!(v["d"], "Limits — see below");
        assert_eq!(v["a"].as_f64(), Some(3.402_823_669_209_385e38));
        assert_eq!(v["b"][1].as_f64(), Some(1.844_674_407_370_955_2e19));
        assert_eq!(v["c"], "99999999999999999999999");
        Ok(())
    }

    #[test]
    fn anchors_aliases_and_merge_keys() -> Result<()> {
        let v = parse_yaml(
            "base: &b {type: string, minLength: 1}\nuse: *b\nmerged:\n  <<: *b\n  minLength: 2\n",
        )?;
        assert_eq!(v["use"], json!({"type": "string", "minLength": 1}));
        assert_eq!(v["merged"], json!({"type": "string", "minLength": 2}));
        Ok(())
    }

    #[test]
    fn hostile_documents_are_errors() {
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            laughs.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        assert!(parse_yaml(&laughs).is_err());
        assert!(parse_yaml(&"[".repeat(10_000)).is_err());
        assert!(parse_yaml("a: 1\na: 2\n").is_err());
        assert!(parse_yaml("? [a]\n: 1\n").is_err());
        assert!(parse_yaml("a: *nowhere\n").is_err());
    }

    #[test]
    fn json_is_read_as_json() -> Result<()> {
        let v = parse_document(r#"{"example": "Hello! \ud83d\udc4d", "n": 1}"#, true)?;
        assert_eq!(v["example"], "Hello! 👍");
        assert!(parse_document("{\"a\": ", true).is_err());
        Ok(())
    }
}
