//! Black-box tests: identity.

#[allow(unused_imports)]
use crate::harness::*;
