//! HTTP-agnostic rules: address canonicalisation, sessions, associations, lookups, invites,
//! terms, rate limits. Nothing here names axum; storage is reached through `store::Store`.

pub mod address;
pub mod ratelimit;
pub mod signed;
pub mod terms;
