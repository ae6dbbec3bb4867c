//! Values checked once where they enter and typed from then on (ruma's model: a constructor
//! that validates, `as_str`/`Deref` for reading, serde through the same constructor). `api/`
//! parses a generated request into these; services and stores take them and re-check nothing.
//!
//! Architecture Invariant: `domain/` depends on nothing else in `src/` but the error type
//! (`crate::error`): every layer may use it, and it can never pull a layer in.

pub mod address;
pub mod ids;
pub mod medium;
pub mod server_name;
pub mod time;
pub mod user_id;

pub use address::{EmailAddress, Msisdn};
pub use ids::{ClientSecret, Sid};
pub use medium::Medium;
pub use server_name::ServerName;
pub use time::Timestamp;
pub use user_id::UserId;

/// `Deref<Target = str>`, `AsRef<str>`, `Debug`, `Display` and string serialisation for a
/// newtype over `String` whose only constructor validates: reading is free, building is
/// checked.
macro_rules! string_newtype {
    ($ty:ident) => {
        string_newtype!($ty, redacted);

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.0)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    // A secret: readable, but neither `Debug` nor `Display` here (the type writes its own).
    ($ty:ident, redacted) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        /// Through the validating constructor: a stored or received value is checked too.
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_newtype;
