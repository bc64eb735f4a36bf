//! Admin API: attendance.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
