//! Tests of the lookup area.
