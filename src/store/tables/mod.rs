//! Registry of every tree the store may hold, so `check` can decode each value.
//! One file per area; each lists its record types and index trees.

use super::StoreError;

pub mod attendance;
pub mod core;
pub mod estate;
pub mod gatepass;
pub mod identity;
pub mod rebuild;
pub mod scale;
pub mod security;
pub mod terminals;
pub mod work;

pub struct TableInfo {
    pub tree: &'static str,
    pub check: fn(&[u8]) -> Result<(), StoreError>,
}

/// A record tree: every value must decode as `$t`.
#[macro_export]
macro_rules! table {
    ($t:ty) => {
        $crate::store::tables::TableInfo {
            tree: <$t as $crate::store::Record>::TREE,
            check: |b| $crate::store::codec::decode::<$t>(b).map(|_| ()),
        }
    };
}

/// An index tree: every value is the bare index marker.
#[macro_export]
macro_rules! index_table {
    ($name:expr) => {
        $crate::store::tables::TableInfo {
            tree: $name,
            check: |b| {
                if b == $crate::store::codec::INDEX_VALUE {
                    Ok(())
                } else {
                    Err($crate::store::StoreError::Decode(
                        "not an index marker".into(),
                    ))
                }
            },
        }
    };
}

pub fn all() -> Vec<TableInfo> {
    [
        core::tables(),
        identity::tables(),
        security::tables(),
        attendance::tables(),
        estate::tables(),
        gatepass::tables(),
        work::tables(),
        terminals::tables(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Every replicated record tree (the outbox logs their changes; `store::outbox`).
pub fn replicated() -> Vec<super::outbox::Replicated> {
    [
        attendance::replicated(),
        estate::replicated(),
        gatepass::replicated(),
        work::replicated(),
        identity::replicated(),
        terminals::replicated(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Schema 7 → 8: every area's day counters (the dashboard's figures).
pub fn build_day_figures(store: &crate::store::Store) -> crate::store::Result<()> {
    attendance::build_day_figures(store)?;
    gatepass::build_issued_counts(store)?;
    estate::build_muster_counts(store)
}

#[cfg(test)]
mod day_figures_tests;
#[cfg(test)]
mod gatepass_tests;
