//! Tests of the invites area.
