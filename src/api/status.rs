//! The supported-versions list.

/// Spec versions whose rules this server follows. r0.x and v1.1–v1.19 require accepting the
/// `access_token` query parameter, so they are advertised only while it is accepted; without
/// it the server follows the header-only rule of the next version (MSC4127, "v1.20").
pub fn supported_versions(accept_query_access_token: bool) -> Vec<String> {
    if !accept_query_access_token {
        return vec!["v1.20".to_string()];
    }
    let mut v: Vec<String> = ["r0.1.0", "r0.2.0", "r0.2.1", "r0.3.0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend((1..=19).map(|minor| format!("v1.{minor}")));
    v
}
