//! The organization: the company that owns the estate, its businesses (estates, divisions,
//! mills, offices — each may sit under another), and designations (job titles in a reporting
//! line, e.g. Estate Manager → Assistant Manager → Mandor).

use serde::{Deserialize, Serialize};

use super::num_id;

num_id!(
    /// An estate, a division of an estate, a mill, an office.
    BusinessId
);
num_id!(
    /// A job title in the reporting line.
    DesignationId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessKind {
    Estate,
    Division,
    Mill,
    Office,
}

impl BusinessKind {
    pub const ALL: [BusinessKind; 4] = [
        BusinessKind::Estate,
        BusinessKind::Division,
        BusinessKind::Mill,
        BusinessKind::Office,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BusinessKind::Estate => "estate",
            BusinessKind::Division => "division",
            BusinessKind::Mill => "mill",
            BusinessKind::Office => "office",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A postal address with an optional map position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub line: String,
    pub city: String,
    pub province: String,
    pub postal_code: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self.line.is_empty() && self.city.is_empty() && self.latitude.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Business {
    pub id: BusinessId,
    /// Short code as the estate writes it ("MNJ", "MNJ-D1"); unique.
    pub code: String,
    pub name: String,
    pub kind: BusinessKind,
    pub parent: Option<BusinessId>,
    pub address: Address,
    pub active: bool,
    pub created_unix: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Designation {
    pub id: DesignationId,
    pub code: String,
    pub name: String,
    /// The designation this one reports to.
    pub parent: Option<DesignationId>,
    /// The business it belongs to, when it is not company-wide.
    pub business: Option<BusinessId>,
    pub created_unix: i64,
}

/// The company that owns the estate (one per box).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Company {
    pub name: String,
    pub legal_name: String,
    pub tax_id: String,
    pub phone: String,
    pub email: String,
    pub address: Address,
}

pub const CODE_MAX: usize = 20;
pub const NAME_MAX: usize = 100;

/// Anything that hangs in a tree by its parent.
pub trait Node {
    fn node_id(&self) -> u64;
    fn parent_id(&self) -> Option<u64>;
}

impl Node for Business {
    fn node_id(&self) -> u64 {
        self.id.0
    }
    fn parent_id(&self) -> Option<u64> {
        self.parent.map(|p| p.0)
    }
}

impl Node for Designation {
    fn node_id(&self) -> u64 {
        self.id.0
    }
    fn parent_id(&self) -> Option<u64> {
        self.parent.map(|p| p.0)
    }
}

/// One node of a built tree, its children in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree<'a, T> {
    pub item: &'a T,
    pub children: Vec<Tree<'a, T>>,
}

/// Builds the forest: roots are items without a parent or whose parent is missing (so one
/// deleted parent never hides a whole branch).
pub fn forest<T: Node>(items: &[T]) -> Vec<Tree<'_, T>> {
    let ids: std::collections::HashSet<u64> = items.iter().map(Node::node_id).collect();
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|i| i.node_id());
    fn build<'a, T: Node>(all: &[&'a T], parent: u64, depth: usize) -> Vec<Tree<'a, T>> {
        if depth > 64 {
            return Vec::new();
        }
        all.iter()
            .filter(|i| i.parent_id() == Some(parent) && i.node_id() != parent)
            .map(|i| Tree {
                item: *i,
                children: build(all, i.node_id(), depth + 1),
            })
            .collect()
    }
    sorted
        .iter()
        .filter(|i| i.parent_id().is_none_or(|p| !ids.contains(&p)))
        .map(|i| Tree {
            item: *i,
            children: build(&sorted, i.node_id(), 1),
        })
        .collect()
}

/// True when making `parent` the parent of `id` would close a loop (the parent is `id` itself
/// or one of its descendants).
pub fn would_cycle<T: Node>(items: &[T], id: u64, parent: u64) -> bool {
    let mut cur = Some(parent);
    let mut steps = 0;
    while let Some(c) = cur {
        if c == id || steps > items.len() {
            return true;
        }
        cur = items
            .iter()
            .find(|i| i.node_id() == c)
            .and_then(Node::parent_id);
        steps += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: u64, parent: Option<u64>) -> Designation {
        Designation {
            id: DesignationId(id),
            code: format!("D{id}"),
            name: format!("D{id}"),
            parent: parent.map(DesignationId),
            business: None,
            created_unix: 0,
        }
    }

    #[test]
    fn forest_nests_children_and_keeps_orphans_as_roots() {
        let items = vec![d(1, None), d(2, Some(1)), d(3, Some(2)), d(4, Some(99))];
        let f = forest(&items);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].item.id.0, 1);
        assert_eq!(f[0].children[0].item.id.0, 2);
        assert_eq!(f[0].children[0].children[0].item.id.0, 3);
        assert_eq!(f[1].item.id.0, 4, "an orphan is still shown");
    }

    #[test]
    fn cycles_are_detected() {
        let items = vec![d(1, None), d(2, Some(1)), d(3, Some(2))];
        assert!(would_cycle(&items, 1, 3));
        assert!(would_cycle(&items, 2, 2));
        assert!(!would_cycle(&items, 3, 1));
    }
}
