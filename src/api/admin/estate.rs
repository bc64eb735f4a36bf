//! Admin API: estate.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
