//! The type of a `{type: string, format: binary}` field: raw bytes, such as a file sent in a
//! `multipart/form-data` body.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Bytes of a `format: binary` field. In the JSON view the runtime validates, the bytes are
/// the characters U+0000–U+00FF of a string, one per byte (`multipart::bytes_as_text`), so
/// that is what it reads and writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Vec<u8>);

impl Binary {
    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::multipart::bytes_as_text(&self.0))
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.chars()
            .map(|c| u8::try_from(u32::from(c)))
            .collect::<Result<Vec<u8>, _>>()
            .map(Self)
            .map_err(|_| de::Error::custom("binary data has a character above U+00FF"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_survive_the_json_view() -> serde_json::Result<()> {
        let bytes = Binary((0..=255).collect());
        let json = serde_json::to_value(&bytes)?;
        assert_eq!(serde_json::from_value::<Binary>(json)?, bytes);
        assert!(serde_json::from_value::<Binary>(serde_json::json!("\u{100}")).is_err());
        Ok(())
    }
}
