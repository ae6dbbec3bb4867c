//! HTTP-agnostic rules: address canonicalisation, sessions, associations, lookups, invites,
//! terms, rate limits. Nothing here names axum; storage is reached through `store::Store`.

pub mod accounts;
pub mod address;
pub mod binding;
pub mod invite_delivery;
pub mod invites;
pub mod lookup;
pub mod msisdn;
pub mod ratelimit;
pub mod sessions;
pub mod signed;
pub mod terms;
