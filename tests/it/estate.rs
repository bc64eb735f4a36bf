//! Black-box tests: estate.

#[allow(unused_imports)]
use crate::harness::*;
