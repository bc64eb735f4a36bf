//! Value codec: one schema-version byte, then bincode 2 (serde, standard config).

use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// A type stored in its own tree. `VERSION` is written as the first byte of every value.
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    const TREE: &'static str;
    const VERSION: u8 = 1;

    /// Reads a value written by an older `VERSION`. Records that changed shape override this.
    fn upgrade(version: u8, _body: &[u8]) -> Result<Self, StoreError> {
        Err(StoreError::Decode(format!(
            "{}: no upgrade from value version {version}",
            Self::TREE
        )))
    }
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub fn encode<R: Record>(value: &R) -> Vec<u8> {
    encode_versioned(R::VERSION, value)
}

pub fn encode_versioned<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    // Most records fit 256 bytes: one allocation instead of growing from one byte (each
    // doubling a realloc, ~1 % of a durable write's CPU in glibc's malloc).
    let mut out = Vec::with_capacity(256);
    out.push(version);
    // Serializing plain structs into a Vec cannot fail; a failure here is a programming error
    // in a type's Serialize impl and must not be swallowed.
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .expect("bincode encoding of a stored record");
    out
}

pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, StoreError> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| StoreError::Decode(format!("{}: empty value", R::TREE)))?;
    if version == R::VERSION {
        decode_body(R::TREE, body)
    } else if version < R::VERSION {
        R::upgrade(version, body)
    } else {
        Err(StoreError::Decode(format!(
            "{}: value version {version} is newer than this binary understands ({})",
            R::TREE,
            R::VERSION
        )))
    }
}

pub fn decode_body<T: DeserializeOwned>(tree: &str, body: &[u8]) -> Result<T, StoreError> {
    let (value, used) = bincode::serde::decode_from_slice(body, config())
        .map_err(|e| StoreError::Decode(format!("{tree}: {e}")))?;
    if used != body.len() {
        return Err(StoreError::Decode(format!(
            "{tree}: {} trailing bytes",
            body.len() - used
        )));
    }
    Ok(value)
}

/// Index entries carry no payload but still start with a version byte, so `check` can tell
/// them from garbage.
pub const INDEX_VALUE: &[u8] = &[1];
