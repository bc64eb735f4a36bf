//! Gatehouse: the estate gatehouse appliance. See ARCHITECTURE.md for the map.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod i18n;
pub mod server;
pub mod service;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod props;
#[cfg(test)]
pub(crate) mod test_alloc;
