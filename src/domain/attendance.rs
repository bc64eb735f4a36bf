//! attendance rules (plain types, no I/O).
