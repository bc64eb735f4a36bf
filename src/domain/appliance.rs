//! The box itself: what first boot leaves for the console.

use serde::{Deserialize, Serialize};

/// The first-run credentials, sealed under the master key, kept only until the console has shown
/// them once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstRunNotice {
    pub sealed_text: Vec<u8>,
    pub created_unix: i64,
}
