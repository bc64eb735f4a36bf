//! The estate: firms, gangs, labourers, the day's estate tasks (`labour`), muster lines and
//! their weighment rules (`muster`), and registered faces (`faces`). Plain types and rules, no
//! I/O. Field names on the wire are POABS's (public-docs-notes.md); names here are the estate's.

pub mod faces;
pub mod labour;
pub mod muster;

use serde::{Deserialize, Serialize};

macro_rules! code_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub String);
        impl $name {
            pub fn as_str(&self) -> &str { &self.0 }
            pub fn key(&self) -> &[u8] { self.0.as_bytes() }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
        }
    };
}

code_id!(
    /// A firm (estate division / labour contractor), POABS `firmid` / `firmID`.
    FirmId
);
code_id!(
    /// A labourer's code, POABS `lcode` ("R101", "29C399").
    LabourCode
);
code_id!(
    /// A gang (a kangani's group of labourers).
    GangId
);
code_id!(
    /// An estate task of a day, POABS `TaskID` (unique within its firm).
    EstateTaskId
);

/// POABS flags are "T"/"F" on the wire.
pub fn tf(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

/// Codes are used as key parts: printable, no separators, no surrounding space.
pub fn valid_code(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 30
        && s.trim() == s
        && s.chars().all(|c| !c.is_control() && c != '/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_safe_key_parts() {
        assert!(valid_code("R101"));
        assert!(valid_code("MNJ-R1045"));
        assert!(!valid_code(""));
        assert!(!valid_code("a\u{0}b"));
        assert!(!valid_code(" R1"));
        assert!(!valid_code(&"x".repeat(31)));
        assert_eq!(tf(true), "T");
    }
}
