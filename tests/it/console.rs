//! Black-box tests: console.

#[allow(unused_imports)]
use crate::harness::*;
