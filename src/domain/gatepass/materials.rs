//! Returnable material: what went out on a pass and what has come back. Returns are kept
//! beside the pass, not in it, because material comes back days after its pass's day was
//! closed, and a closed day's passes never change.

use serde::{Deserialize, Serialize};

use super::{Item, Stamp};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Returned {
    pub name: String,
    pub qty: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReturnEntry {
    pub at: Stamp,
    pub items: Vec<Returned>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Returns {
    pub entries: Vec<ReturnEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReturnRefusal {
    NotReturnable,
    NotOut,
    UnknownItem { name: String },
    TooMuch { name: String, outstanding: f64 },
}

impl ReturnRefusal {
    pub fn key(&self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            ReturnRefusal::NotReturnable => ("gatepass.return.not_returnable", vec![]),
            ReturnRefusal::NotOut => ("gatepass.return.not_out", vec![]),
            ReturnRefusal::UnknownItem { name } => {
                ("gatepass.return.unknown_item", vec![("item", name.clone())])
            }
            ReturnRefusal::TooMuch { name, outstanding } => (
                "gatepass.return.too_much",
                vec![
                    ("item", name.clone()),
                    ("outstanding", fmt_qty(*outstanding)),
                ],
            ),
        }
    }
}

pub fn fmt_qty(q: f64) -> String {
    let s = format!("{q:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// What is still out, item by item (quantities never below zero).
pub fn outstanding(items: &[Item], returns: &Returns) -> Vec<Item> {
    items
        .iter()
        .map(|it| {
            let back: f64 = returns
                .entries
                .iter()
                .flat_map(|e| &e.items)
                .filter(|r| same_name(&r.name, &it.name))
                .map(|r| r.qty)
                .sum();
            Item {
                name: it.name.clone(),
                qty: round3((it.qty - back).max(0.0)),
                unit: it.unit.clone(),
            }
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Records material coming back; refuses items the pass never carried and more than is out.
pub fn record_return(
    items: &[Item],
    returns: &mut Returns,
    back: Vec<Returned>,
    at: Stamp,
) -> Result<(), ReturnRefusal> {
    let out = outstanding(items, returns);
    for r in &back {
        let Some(o) = out.iter().find(|o| same_name(&o.name, &r.name)) else {
            return Err(ReturnRefusal::UnknownItem {
                name: r.name.clone(),
            });
        };
        let asked: f64 = back
            .iter()
            .filter(|x| same_name(&x.name, &r.name))
            .map(|x| x.qty)
            .sum();
        if round3(asked) > o.qty {
            return Err(ReturnRefusal::TooMuch {
                name: o.name.clone(),
                outstanding: o.qty,
            });
        }
    }
    returns.entries.push(ReturnEntry { at, items: back });
    Ok(())
}
