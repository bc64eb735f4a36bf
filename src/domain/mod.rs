//! Plain types and rules, no I/O. Everything here is unit-tested without a store or a server.

pub mod credentials;
pub mod devices;
pub mod identity;
pub mod ids;
pub mod time;
pub mod validate;
// Areas (one file each; see ARCHITECTURE.md).
pub mod appliance;
pub mod attendance;
pub mod estate;
pub mod gatepass;
pub mod geofence;
pub mod hr;
pub mod shift;
pub mod terminals;
pub mod work;
