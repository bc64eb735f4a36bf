//! Codelayer: system operations.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
