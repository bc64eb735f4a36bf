//! estate rules (plain types, no I/O).
