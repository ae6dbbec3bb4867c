//! Tests of the validation area.
