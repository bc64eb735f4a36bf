//! Black-box tests: work.

#[allow(unused_imports)]
use crate::harness::*;
