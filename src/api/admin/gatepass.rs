//! Admin API: gatepass.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
