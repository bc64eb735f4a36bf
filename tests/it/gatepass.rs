//! Black-box tests: gatepass.

#[allow(unused_imports)]
use crate::harness::*;
