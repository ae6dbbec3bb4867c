//! Loading of brand folders, compatible with sydent's template folders: a root folder with
//! one sub-folder per brand, each holding the three template files (or sydent's older
//! `.eml` mails). The built-in brand is compiled into the binary. Each file is registered
//! as `{brand}/{file}`, as a Jinja template or, when written for Python `%` formatting, as
//! a `%` template (the file decides).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use minijinja::Environment;

use super::jinja::new_environment;
use super::{BUILTIN_BRAND, INVITE_TEMPLATE, VERIFICATION_TEMPLATE, VERIFY_RESPONSE_TEMPLATE};
use crate::mail::MailError;
use crate::mail::text::normalize_newlines;

const TEMPLATE_FILES: [&str; 3] = [
    VERIFICATION_TEMPLATE,
    INVITE_TEMPLATE,
    VERIFY_RESPONSE_TEMPLATE,
];

const BUILTIN: [(&str, &str); 3] = [
    (
        VERIFICATION_TEMPLATE,
        include_str!("../../../templates/matrix-org/verification_template.eml.j2"),
    ),
    (
        INVITE_TEMPLATE,
        include_str!("../../../templates/matrix-org/invite_template.eml.j2"),
    ),
    (
        VERIFY_RESPONSE_TEMPLATE,
        include_str!("../../../templates/matrix-org/verify_response_template.html"),
    ),
];

/// Every brand's templates, compiled.
pub(super) struct Brands {
    pub(super) env: Environment<'static>,
    pub(super) names: BTreeSet<String>,
    /// Templates written for Python `%` formatting: sydent's `%(message)s` response pages and
    /// its older `.eml` mails (`%(token)s`, `%(link_forhtml)s`, …), by registered name.
    pub(super) percent: BTreeMap<String, String>,
}

impl Brands {
    /// The built-in brand and every brand of `folder`. Fails on a template syntax error or
    /// an unreadable folder.
    pub(super) fn load(folder: Option<&Path>) -> Result<Self, MailError> {
        let mut brands = Self {
            env: new_environment(),
            names: BTreeSet::new(),
            percent: BTreeMap::new(),
        };
        for (file, source) in BUILTIN {
            brands.add(BUILTIN_BRAND, file, source, false)?;
        }
        brands.names.insert(BUILTIN_BRAND.to_owned());
        if let Some(folder) = folder {
            brands.load_folder(folder)?;
        }
        Ok(brands)
    }

    /// Whether `name` (`{brand}/{file}`) is registered.
    pub(super) fn has(&self, name: &str) -> bool {
        self.percent.contains_key(name) || self.env.get_template(name).is_ok()
    }

    fn add(
        &mut self,
        brand: &str,
        file: &str,
        source: &str,
        older_eml: bool,
    ) -> Result<(), MailError> {
        let name = format!("{brand}/{file}");
        let source = normalize_newlines(source);
        let percent = if file == VERIFY_RESPONSE_TEMPLATE || older_eml {
            // sydent's response pages and `.eml` mails are Python `%` templates, not Jinja: a
            // file without Jinja markup is one, placeholders or not (a static page is sent as
            // it is, final newline included).
            !is_jinja_source(&source)
        } else {
            // A mail written for `%` (sydent's older `.eml` files) says so with a placeholder.
            !is_jinja_source(&source) && source.contains("%(")
        };
        if percent {
            self.percent.insert(name, source);
            return Ok(());
        }
        self.percent.remove(&name);
        self.env
            .add_template_owned(name.clone(), source)
            .map_err(|e| MailError::Template(format!("{name}: {e}")))
    }

    fn load_folder(&mut self, folder: &Path) -> Result<(), MailError> {
        let unreadable = |e: std::io::Error| {
            MailError::Config(format!("template folder {}: {e}", folder.display()))
        };
        for entry in std::fs::read_dir(folder).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let path = entry.path();
            // Follows symbolic links, like the reference server's os.path.isdir.
            if !path.is_dir() {
                continue;
            }
            let Some(brand) = entry.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(path = %path.display(), "ignoring template folder: name is not UTF-8");
                continue;
            };
            if !is_valid_brand_name(&brand) {
                if !brand.starts_with('.') {
                    tracing::warn!(brand, "ignoring template folder: not a valid brand name");
                }
                continue;
            }
            let mut found = 0;
            for file in TEMPLATE_FILES {
                // As sydent: the Jinja file (`.eml.j2`) when there is one, else the older `.eml`.
                let mut file_path = path.join(file);
                let mut older_eml = false;
                if !file_path.is_file()
                    && let Some(older) = file.strip_suffix(".j2").map(|f| path.join(f))
                    && older.is_file()
                {
                    file_path = older;
                    older_eml = true;
                }
                if !file_path.is_file() {
                    tracing::warn!(brand, file, "template missing; using the default brand's");
                    continue;
                }
                let source = std::fs::read_to_string(&file_path).map_err(|e| {
                    MailError::Config(format!("template {}: {e}", file_path.display()))
                })?;
                self.add(&brand, file, &source, older_eml)?;
                found += 1;
            }
            if found > 0 {
                self.names.insert(brand);
            } else {
                tracing::warn!(
                    brand,
                    "ignoring template folder: it holds none of the templates"
                );
            }
        }
        Ok(())
    }
}

/// Whether a page is written for Jinja: any Jinja delimiter decides it; sydent's `%`
/// pages never contain one.
fn is_jinja_source(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}

/// A brand is a plain folder name: 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit
/// (so never `.`, `..`, hidden folders, separators or absolute paths).
pub fn is_valid_brand_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_names() {
        for ok in ["matrix-org", "vector-im", "brand_2", "a.b"] {
            assert!(is_valid_brand_name(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", "../etc", "a/b", "a\\b", ".hidden", "a..b", "/abs", "é", "a b",
        ] {
            assert!(!is_valid_brand_name(bad), "{bad}");
        }
    }

    #[test]
    fn builtin_templates_compile() {
        let brands = Brands::load(None).expect("built-ins load");
        assert_eq!(brands.names.iter().collect::<Vec<_>>(), vec![BUILTIN_BRAND]);
        assert!(brands.has(&format!("{BUILTIN_BRAND}/{INVITE_TEMPLATE}")));
    }
}
