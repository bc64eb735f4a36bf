//! A substring index usable by any record with text fields ("contains, case-insensitive").
//!
//! Key: gram length in bytes (1 byte) ‖ gram (UTF-8) ‖ suffix. A gram is 1, 2 or 3 chars
//! (chars, not bytes: names are Indonesian or Tamil as often as English) of a field's
//! lower-case text; each distinct gram of each field is one key. The suffix is the record's
//! key in list order (for tasks `work::order_key`), so a gram's posting list is one prefix of
//! the tree, already in list order, and lists are intersected by a merge on their suffixes.
//!
//! A query of 1–3 chars is exactly one posting list (a field contains it iff it is one of
//! the field's grams): no record needs reading to count it. A longer query reads the
//! intersection of its trigrams' lists, a superset of the matches (the trigrams may sit apart),
//! so its candidates are verified against the record. Indexing the 1- and 2-grams too costs
//! about as many keys again as the trigrams (short texts have few distinct short grams) and
//! spares a prefix scan over every trigram starting with a short query.
//!
//! Fields are indexed separately (their grams united), so a query spanning the end of one
//! field and the start of the next matches neither, exactly like a per-field `contains`.

use std::collections::BTreeSet;

use crate::store::{Result, Store};

/// Longest gram indexed, in chars.
pub const GRAM: usize = 3;

/// Every distinct gram (1..=GRAM chars) of each field's lower-case text.
pub fn grams(fields: &[&str]) -> BTreeSet<String> {
    let lower: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    grams_as_is(&lower.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every distinct gram of each field as given (for callers that fold the text themselves).
pub fn grams_as_is(fields: &[&str]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in fields {
        let chars: Vec<char> = f.chars().collect();
        for i in 0..chars.len() {
            for n in 1..=GRAM.min(chars.len() - i) {
                out.insert(chars[i..i + n].iter().collect());
            }
        }
    }
    out
}

/// The key prefix of one gram's posting list.
pub fn gram_prefix(gram: &str) -> Vec<u8> {
    let b = gram.as_bytes();
    // A gram is at most 3 chars of 4 bytes: its length always fits one byte.
    [[b.len() as u8].as_slice(), b].concat()
}

/// A record's keys: one per distinct gram of its fields, each ending in `suffix`.
pub fn entries(fields: &[&str], suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    keys(grams(fields), suffix)
}

/// Like `entries`, of fields already folded as the caller compares them (`query_as_is`).
pub fn entries_as_is(fields: &[&str], suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    keys(grams_as_is(fields), suffix)
}

fn keys(grams: BTreeSet<String>, suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    grams
        .iter()
        .map(|g| [gram_prefix(g).as_slice(), suffix].concat())
        .collect()
}

/// How a query reads the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The posting lists whose intersection holds every match (each a key prefix).
    pub lists: Vec<Vec<u8>>,
    /// The intersection is exactly the matches (a query of at most `GRAM` chars).
    pub exact: bool,
}

/// The posting lists of a query; None when the query is empty (it matches everything).
pub fn query(q: &str) -> Option<Query> {
    query_as_is(&q.to_lowercase())
}

/// The posting lists of a query already folded like the indexed fields (`entries_as_is`).
pub fn query_as_is(q: &str) -> Option<Query> {
    let chars: Vec<char> = q.chars().collect();
    if chars.is_empty() {
        return None;
    }
    if chars.len() <= GRAM {
        return Some(Query {
            lists: vec![gram_prefix(&chars.iter().collect::<String>())],
            exact: true,
        });
    }
    // Every trigram of the query must be in a match; the ones at every third position and the
    // last cover each char, which is enough to narrow (the rest is verified anyway).
    let mut starts: Vec<usize> = (0..=chars.len() - GRAM).step_by(GRAM).collect();
    if starts.last() != Some(&(chars.len() - GRAM)) {
        starts.push(chars.len() - GRAM);
    }
    let mut lists: Vec<Vec<u8>> = starts
        .into_iter()
        .map(|i| gram_prefix(&chars[i..i + GRAM].iter().collect::<String>()))
        .collect();
    lists.sort();
    lists.dedup();
    Some(Query {
        lists,
        exact: false,
    })
}

/// A sorted stream of suffixes that can skip ahead.
pub trait Cursor {
    /// The first suffix at or after `at` (None: the stream is done).
    fn seek(&mut self, at: &[u8]) -> Result<Option<Vec<u8>>>;
}

/// Steps taken along the open iterator before a seek reopens the range further on.
const STEPS_BEFORE_REOPEN: usize = 16;

/// One posting list in the store: the keys of `tree` starting with `prefix`, suffixes in
/// `[lo, hi)`. Seeks step the iterator a little, then reopen the range at the target, so a
/// long list intersected with a short one is mostly skipped, not read.
pub struct Postings<'a> {
    store: &'a Store,
    tree: &'static str,
    prefix: Vec<u8>,
    hi: Vec<u8>,
    iter: Option<crate::store::engine::KvIter<'a>>,
    cur: Option<Vec<u8>>,
    done: bool,
}

impl<'a> Postings<'a> {
    pub fn new(store: &'a Store, tree: &'static str, prefix: Vec<u8>, hi: Vec<u8>) -> Self {
        Self {
            store,
            tree,
            prefix,
            hi,
            iter: None,
            cur: None,
            done: false,
        }
    }

    fn step(&mut self) -> Result<()> {
        let n = self.prefix.len();
        self.cur = match self.iter.as_mut().and_then(|it| it.next()) {
            Some(r) => Some(r?.0[n..].to_vec()),
            None => {
                self.done = true;
                None
            }
        };
        Ok(())
    }

    fn reopen(&mut self, at: &[u8]) -> Result<()> {
        let start = [self.prefix.as_slice(), at].concat();
        let end = [self.prefix.as_slice(), &self.hi].concat();
        self.iter = Some(self.store.engine().range(self.tree, &start, &end)?);
        self.step()
    }
}

impl Cursor for Postings<'_> {
    fn seek(&mut self, at: &[u8]) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        if self.iter.is_none() {
            self.reopen(at)?;
        }
        let mut steps = 0;
        while self.cur.as_deref().is_some_and(|c| c < at) {
            if steps == STEPS_BEFORE_REOPEN {
                self.reopen(at)?;
                break;
            }
            self.step()?;
            steps += 1;
        }
        Ok(self.cur.clone())
    }
}

/// The suffixes present in every cursor, in order (a leapfrog join: each cursor skips to the
/// largest suffix seen, so the work follows the shortest list, not the longest).
pub struct Intersect<C> {
    cursors: Vec<C>,
    at: Vec<u8>,
    done: bool,
}

impl<C: Cursor> Intersect<C> {
    /// Starts at suffix `lo`. No cursors: nothing (an empty intersection is never "all").
    pub fn new(cursors: Vec<C>, lo: Vec<u8>) -> Self {
        Self {
            done: cursors.is_empty(),
            cursors,
            at: lo,
        }
    }

    fn advance(&mut self) -> Result<Option<Vec<u8>>> {
        let k = self.cursors.len();
        let mut agree = 0;
        let mut i = 0;
        loop {
            let Some(s) = self.cursors[i].seek(&self.at)? else {
                return Ok(None);
            };
            if s == self.at {
                agree += 1;
            } else {
                self.at = s;
                agree = 1;
            }
            if agree == k {
                let hit = self.at.clone();
                // The smallest suffix after the hit.
                self.at.push(0);
                return Ok(Some(hit));
            }
            i = (i + 1) % k;
        }
    }
}

impl<C: Cursor> Iterator for Intersect<C> {
    type Item = Result<Vec<u8>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(s)) => Some(Ok(s)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A posting list in memory.
    struct Mem(Vec<Vec<u8>>);
    impl Cursor for Mem {
        fn seek(&mut self, at: &[u8]) -> Result<Option<Vec<u8>>> {
            Ok(self.0.iter().find(|s| s.as_slice() >= at).cloned())
        }
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grams_are_chars_of_the_lower_case_text() {
        assert_eq!(
            grams(&["AbA"]),
            set(&["a", "b", "ab", "ba", "aba"]),
            "distinct, lower-cased"
        );
        // Tamil and accented letters: each gram whole chars, never a split UTF-8 sequence.
        let g = grams(&["தமிழ்", "Éa"]);
        assert!(g.contains("தமி"));
        assert!(g.contains("é"));
        assert!(g.contains("éa"));
        assert!(!g.iter().any(|s| s.chars().count() > GRAM));
        // Fields apart: no gram spans two fields.
        assert!(!grams(&["ab", "cd"]).contains("bc"));
        assert!(grams(&[""]).is_empty());
    }

    #[test]
    fn a_short_query_is_one_exact_list_and_a_long_one_its_covering_trigrams() {
        assert_eq!(
            query("É"),
            Some(Query {
                lists: vec![gram_prefix("é")],
                exact: true
            })
        );
        assert_eq!(query("ABC").unwrap().lists, vec![gram_prefix("abc")]);
        assert_eq!(query(""), None);
        let q = query("abcdefg").unwrap();
        assert!(!q.exact);
        let mut want = vec![gram_prefix("abc"), gram_prefix("def"), gram_prefix("efg")];
        want.sort();
        assert_eq!(q.lists, want);
        // Every gram a query looks up is one the matching text was indexed under.
        for (text, q) in [("Panen blok Ç-12", "ok ç-1"), ("தமிழ் நாடு", "ழ் நா")] {
            let g: BTreeSet<Vec<u8>> = grams(&[text]).iter().map(|g| gram_prefix(g)).collect();
            assert!(query(q).unwrap().lists.iter().all(|l| g.contains(l)));
        }
    }

    #[test]
    fn gram_prefixes_never_overlap() {
        // The length byte keeps one gram's list from running into a longer gram's.
        let (a, ab, abc) = (gram_prefix("a"), gram_prefix("ab"), gram_prefix("abc"));
        assert!(!abc.starts_with(&ab) && !ab.starts_with(&a) && !abc.starts_with(&a));
        assert!(!gram_prefix("é").starts_with(&gram_prefix("ã")));
    }

    fn keys(v: &[u8]) -> Vec<Vec<u8>> {
        v.iter().map(|b| vec![*b]).collect()
    }

    #[test]
    fn intersection_is_the_common_suffixes_in_order() {
        let lists = vec![
            Mem(keys(&[1, 3, 4, 7, 9, 12])),
            Mem(keys(&[2, 3, 7, 8, 9])),
            Mem(keys(&[0, 3, 5, 7, 9, 10])),
        ];
        let got: Vec<Vec<u8>> = Intersect::new(lists, Vec::new())
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got, keys(&[3, 7, 9]));
        let got: Vec<Vec<u8>> = Intersect::new(vec![Mem(keys(&[1, 3, 4]))], vec![2])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got, keys(&[3, 4]), "one list from its start bound");
        let none: Vec<Mem> = Vec::new();
        assert_eq!(Intersect::new(none, Vec::new()).count(), 0);
        let disjoint = vec![Mem(keys(&[1, 2])), Mem(keys(&[3, 4]))];
        assert_eq!(Intersect::new(disjoint, Vec::new()).count(), 0);
    }
}
