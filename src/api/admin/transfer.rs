//! Admin API: CSV import rows and export tables (the CLI reads and writes the files).

use crate::api::Route;

pub fn routes() -> Vec<Route> {
    vec![]
}
