//! Admin API: dashboard.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
