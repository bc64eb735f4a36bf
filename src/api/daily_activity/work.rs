//! Daily Activity: work operations.

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
