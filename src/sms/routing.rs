//! Where a text may go and who it comes from: the operator's country rules (sydent's
//! `smsRule.<cc>`) and senders per calling code (sydent's `originators.<cc>`).

use std::collections::BTreeMap;

use super::phone::ParsedNumber;

/// The kind of sender, as SMS networks distinguish them (OpenMarket's "type of number").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginatorKind {
    /// A full phone number.
    Long,
    /// A short code.
    Short,
    /// Text (at most 11 characters on most networks).
    Alpha,
}

impl OriginatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginatorKind::Long => "long",
            OriginatorKind::Short => "short",
            OriginatorKind::Alpha => "alpha",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Originator {
    pub kind: OriginatorKind,
    pub text: String,
}

impl Originator {
    /// `long:<number>`, `short:<number>` or `alpha:<text>` (sydent's notation).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (kind, text) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not long:<number>, short:<number> or alpha:<text>"))?;
        let kind = match kind {
            "long" => OriginatorKind::Long,
            "short" => OriginatorKind::Short,
            "alpha" => OriginatorKind::Alpha,
            other => {
                return Err(format!(
                    "`{other}` is not an originator type (long, short, alpha)"
                ));
            }
        };
        if text.is_empty() || text.contains(':') {
            return Err(format!("`{s}`: one non-empty value after the type"));
        }
        Ok(Self {
            kind,
            text: text.to_owned(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Allow,
    Reject,
}

/// The parsed rules and senders.
#[derive(Debug, Clone)]
pub struct Routing {
    rules: BTreeMap<String, Rule>,
    originators: BTreeMap<String, Vec<Originator>>,
    fallback: Originator,
}

impl Routing {
    pub fn new(
        rules: BTreeMap<String, Rule>,
        originators: BTreeMap<String, Vec<Originator>>,
    ) -> Self {
        Self {
            rules,
            originators,
            fallback: Originator {
                kind: OriginatorKind::Alpha,
                text: "Matrix".to_owned(),
            },
        }
    }

    /// Whether texts may go to `number`: the rule of its region, else of its calling code,
    /// else `default`, else allowed.
    pub fn allows(&self, number: &ParsedNumber) -> bool {
        let code = number.calling_code.to_string();
        let rule = number
            .region
            .as_deref()
            .and_then(|r| self.rules.get(r))
            .or_else(|| self.rules.get(&code))
            .or_else(|| self.rules.get("default"));
        rule != Some(&Rule::Reject)
    }

    /// The sender for `number`: from its calling code's list, else `default`'s, else
    /// `alpha:Matrix`. Within a list the choice depends only on the number (its digit sum),
    /// so every text to one number comes from the same sender, as in sydent.
    pub fn originator(&self, number: &ParsedNumber) -> &Originator {
        let list = self
            .originators
            .get(&number.calling_code.to_string())
            .or_else(|| self.originators.get("default"));
        match list {
            Some(list) if !list.is_empty() => {
                let digit_sum: usize = number
                    .msisdn
                    .bytes()
                    .map(|b| usize::from(b.wrapping_sub(b'0')) % 10)
                    .sum();
                &list[digit_sum % list.len()]
            }
            _ => &self.fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(msisdn: &str, code: u16, region: &str) -> ParsedNumber {
        ParsedNumber {
            msisdn: msisdn.into(),
            intl_fmt: String::new(),
            calling_code: code,
            region: Some(region.into()),
        }
    }

    fn o(s: &str) -> Originator {
        Originator::parse(s).expect("valid originator")
    }

    #[test]
    fn originators_parse_like_sydent() {
        assert_eq!(o("long:447700900123").kind, OriginatorKind::Long);
        assert_eq!(o(" alpha:Matrix ").text, "Matrix");
        assert!(Originator::parse("alpha").is_err());
        assert!(Originator::parse("medium:1").is_err());
        assert!(Originator::parse("long:").is_err());
        assert!(Originator::parse("long:1:2").is_err());
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let r = Routing::new(
            [
                ("1".to_owned(), Rule::Reject),
                ("CA".to_owned(), Rule::Allow),
                ("default".to_owned(), Rule::Allow),
            ]
            .into(),
            BTreeMap::new(),
        );
        assert!(!r.allows(&number("12025550123", 1, "US")));
        assert!(r.allows(&number("14165550123", 1, "CA")));
        assert!(r.allows(&number("447400123456", 44, "GB")));

        let allow_list = Routing::new(
            [
                ("44".to_owned(), Rule::Allow),
                ("default".to_owned(), Rule::Reject),
            ]
            .into(),
            BTreeMap::new(),
        );
        assert!(allow_list.allows(&number("447400123456", 44, "GB")));
        assert!(!allow_list.allows(&number("4930123456", 49, "DE")));
        assert!(Routing::new(BTreeMap::new(), BTreeMap::new()).allows(&number("1", 1, "US")));
    }

    #[test]
    fn one_number_always_gets_the_same_sender() {
        let r = Routing::new(
            BTreeMap::new(),
            [
                ("44".to_owned(), vec![o("long:1"), o("long:2"), o("long:3")]),
                ("default".to_owned(), vec![o("short:777")]),
            ]
            .into(),
        );
        // 4+4+7+4+0+0+1+2+3+4+5+6 = 40; 40 % 3 = 1.
        let gb = number("447400123456", 44, "GB");
        assert_eq!(r.originator(&gb).text, "2");
        assert_eq!(r.originator(&gb).text, "2");
        assert_eq!(r.originator(&number("4930123456", 49, "DE")).text, "777");
        let none = Routing::new(BTreeMap::new(), BTreeMap::new());
        assert_eq!(none.originator(&gb), &o("alpha:Matrix"));
    }
}
