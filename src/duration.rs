//! `ConfigDuration`: a duration as people write it in the configuration. A leaf module, so the
//! areas whose settings hold durations (sessions, invites, auth) need not import `config`.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A duration written for people: a whole number and a unit, `"24h"`, `"90s"`, `"1500ms"`
/// (units `ms`, `s`, `m`, `h`, `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConfigDuration(pub Duration);

impl std::str::FromStr for ConfigDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a duration: write a whole number and a unit, e.g. \"24h\", \"90s\" \
                 (units: ms, s, m, h, d)"
            )
        };
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = t.split_at(split);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let ms_per_unit: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        n.checked_mul(ms_per_unit)
            .map(|ms| Self(Duration::from_millis(ms)))
            .ok_or_else(|| format!("`{text}` is too long a duration"))
    }
}

impl TryFrom<String> for ConfigDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<ConfigDuration> for String {
    fn from(d: ConfigDuration) -> String {
        format!("{}ms", d.0.as_millis())
    }
}
