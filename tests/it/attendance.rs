//! Black-box tests: attendance.

#[allow(unused_imports)]
use crate::harness::*;
