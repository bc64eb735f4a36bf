//! Plain types and rules, no I/O. Everything here is unit-tested without a store or a server.

pub mod credentials;
pub mod devices;
pub mod identity;
pub mod ids;
pub mod time;
pub mod validate;
