//! Work of the Daily Activity app: the organization (businesses, designations, company), tasks
//! with their photos and reports, tickets and projects. Plain types and rules, no I/O.

pub mod org;
pub mod projects;
pub mod report;
pub mod tasks;
pub mod tickets;

/// A numeric id stored big-endian in keys, so keys sort by id.
macro_rules! num_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        pub struct $name(pub u64);
        impl $name {
            pub fn key(self) -> [u8; 8] {
                self.0.to_be_bytes()
            }
            pub fn from_key(k: &[u8]) -> Option<Self> {
                Some(Self(u64::from_be_bytes(k.get(..8)?.try_into().ok()?)))
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}
pub(crate) use num_id;

/// Page of a list: `page` from 1, `per_page` within `1..=MAX_PER_PAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: usize,
    pub per_page: usize,
}

pub const DEFAULT_PER_PAGE: usize = 20;
pub const MAX_PER_PAGE: usize = 100;

impl Default for Paging {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl Paging {
    /// The slice of `total` items this page covers.
    pub fn window(self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page.saturating_sub(1))
            .saturating_mul(self.per_page)
            .min(total);
        start..(start + self.per_page).min(total)
    }

    pub fn total_pages(self, total: usize) -> usize {
        total.div_ceil(self.per_page.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_windows_stop_at_the_end() {
        let p = Paging {
            page: 3,
            per_page: 10,
        };
        assert_eq!(p.window(25), 20..25);
        assert_eq!(p.window(5), 5..5);
        assert_eq!(p.total_pages(25), 3);
        assert_eq!(p.total_pages(0), 0);
        assert_eq!(Paging::default().window(3), 0..3);
    }
}
