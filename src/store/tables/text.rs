//! A substring index usable by any record with text fields ("contains, case-insensitive").
//!
//! Key: gram ‖ suffix. The gram at each char position of a field's lower-case text is the 3
//! chars from there (chars, not bytes: names are Indonesian or Tamil as often as English),
//! padded with `PAD` bytes where the field ends (a byte no UTF-8 text holds), so every gram
//! is 3 slots and no gram's bytes begin another's; each distinct gram of each field is one
//! key, about one key per char. The suffix is the record's key in list order (for tasks
//! `work::order_key`), so a trigram's posting list is one prefix of the tree, already in list
//! order, and lists are intersected by a merge on their suffixes.
//!
//! A query of 3 chars is exactly one posting list. A query of 1 or 2 chars occurs where a
//! gram starts with it: the keys under its bytes, their suffixes gathered and sorted (every
//! such gram's list united), also exact. Either way no record is read to count the matches.
//! A longer query reads the intersection of its trigrams' lists, a superset of the matches
//! (the trigrams may sit apart), so its candidates are verified against the record.
//! (Indexing the 1- and 2-char grams as lists of their own would spare that union but write
//! about three keys per char: Save Task measured 2.6× slower.)
//!
//! Fields are indexed separately (their grams united), so a query spanning the end of one
//! field and the start of the next matches neither, exactly like a per-field `contains`.

use std::collections::BTreeSet;

use crate::store::{Result, Store};

/// Chars per gram.
pub const GRAM: usize = 3;

/// Fills a gram past the end of its field (never a byte of UTF-8).
pub const PAD: u8 = 0xff;

/// Every distinct gram (encoded, `GRAM` slots) of each field's lower-case text.
pub fn grams(fields: &[&str]) -> BTreeSet<Vec<u8>> {
    let lower: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    grams_as_is(&lower.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every distinct gram of each field as given (for callers that fold the text themselves).
pub fn grams_as_is(fields: &[&str]) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    for f in fields {
        let chars: Vec<char> = f.chars().collect();
        for i in 0..chars.len() {
            let mut g = Vec::with_capacity(4 * GRAM);
            for slot in i..i + GRAM {
                match chars.get(slot) {
                    Some(c) => g.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                    None => g.push(PAD),
                }
            }
            out.insert(g);
        }
    }
    out
}

/// The bytes of the gram a key starts with (its `GRAM` slots).
fn gram_len(key: &[u8]) -> Option<usize> {
    let mut at = 0;
    for _ in 0..GRAM {
        let b = *key.get(at)?;
        at += match b {
            PAD => 1,
            b if b < 0x80 => 1,
            b if b >= 0xf0 => 4,
            b if b >= 0xe0 => 3,
            _ => 2,
        };
    }
    (at <= key.len()).then_some(at)
}

/// A record's keys: one per distinct gram of its fields, each ending in `suffix`.
pub fn entries(fields: &[&str], suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    keys(grams(fields), suffix)
}

/// Like `entries`, of fields already folded as the caller compares them (`query_as_is`).
pub fn entries_as_is(fields: &[&str], suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    keys(grams_as_is(fields), suffix)
}

fn keys(grams: BTreeSet<Vec<u8>>, suffix: &[u8]) -> BTreeSet<Vec<u8>> {
    grams
        .into_iter()
        .map(|g| [g.as_slice(), suffix].concat())
        .collect()
}

/// One posting list a query reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum List {
    /// A whole trigram's keys.
    Gram(Vec<u8>),
    /// The keys of every gram starting with these 1 or 2 chars, united.
    Prefix(Vec<u8>),
}

/// How a query reads the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The posting lists whose intersection holds every match.
    pub lists: Vec<List>,
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
    let bytes = |cs: &[char]| cs.iter().collect::<String>().into_bytes();
    match chars.len() {
        0 => None,
        n if n < GRAM => Some(Query {
            lists: vec![List::Prefix(bytes(&chars))],
            exact: true,
        }),
        n => {
            // Every trigram of a match is a whole gram of the field; the ones at every third
            // position and the last cover each char, which is enough to narrow (the rest is
            // verified anyway).
            let mut starts: Vec<usize> = (0..=n - GRAM).step_by(GRAM).collect();
            if starts.last() != Some(&(n - GRAM)) {
                starts.push(n - GRAM);
            }
            let mut lists: Vec<List> = starts
                .into_iter()
                .map(|i| List::Gram(bytes(&chars[i..i + GRAM])))
                .collect();
            lists.sort();
            lists.dedup();
            Some(Query {
                lists,
                exact: n == GRAM,
            })
        }
    }
}

/// The cursors of a query's lists in `tree`, suffixes in `[lo, hi)`. A prefix list is read
/// whole here (its grams' suffixes gathered in order, each once): only 1- and 2-char queries
/// have one.
pub fn cursors<'a>(
    store: &'a Store,
    tree: &'static str,
    q: Query,
    lo: &[u8],
    hi: &[u8],
) -> Result<Vec<Box<dyn Cursor + 'a>>> {
    let mut out: Vec<Box<dyn Cursor + 'a>> = Vec::new();
    for l in q.lists {
        match l {
            List::Gram(g) => out.push(Box::new(Postings::new(store, tree, g, hi.to_vec()))),
            List::Prefix(p) => {
                let mut set = BTreeSet::new();
                for r in store.engine().scan(tree, &p)? {
                    let (k, _) = r?;
                    let Some(n) = gram_len(&k) else { continue };
                    let suffix = &k[n..];
                    if suffix >= lo && suffix < hi {
                        set.insert(suffix.to_vec());
                    }
                }
                out.push(Box::new(Sorted {
                    keys: set.into_iter().collect(),
                    at: 0,
                }));
            }
        }
    }
    Ok(out)
}

/// A posting list in memory, sorted.
pub struct Sorted {
    keys: Vec<Vec<u8>>,
    at: usize,
}

impl Cursor for Sorted {
    fn seek(&mut self, at: &[u8]) -> Result<Option<Vec<u8>>> {
        self.at += self.keys[self.at..].partition_point(|k| k.as_slice() < at);
        Ok(self.keys.get(self.at).cloned())
    }
}

impl<C: Cursor + ?Sized> Cursor for Box<C> {
    fn seek(&mut self, at: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).seek(at)
    }
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

    fn mem(v: &[u8]) -> Sorted {
        Sorted {
            keys: v.iter().map(|b| vec![*b]).collect(),
            at: 0,
        }
    }

    fn g(s: &str) -> Vec<u8> {
        let mut b = s.as_bytes().to_vec();
        b.resize(b.len() + GRAM - s.chars().count(), PAD);
        b
    }

    #[test]
    fn grams_are_padded_char_trigrams_of_the_lower_case_text() {
        let want: BTreeSet<Vec<u8>> = ["aba", "ba", "a"].iter().map(|s| g(s)).collect();
        assert_eq!(
            grams(&["AbA"]),
            want,
            "distinct, lower-cased, padded at the end"
        );
        // Tamil and accented letters: whole chars, never a split UTF-8 sequence.
        let t = grams(&["தமிழ்", "Éa"]);
        assert!(t.contains(&g("தமி")));
        assert!(t.contains(&g("éa")));
        assert!(t.contains(&g("a")));
        for k in &t {
            assert_eq!(gram_len(k), Some(k.len()), "{k:?} is one whole gram");
        }
        // Fields apart: no gram spans two fields.
        assert!(!grams(&["ab", "cd"]).iter().any(|k| k.starts_with(b"bc")));
        assert!(grams(&[""]).is_empty());
        // A gram's bytes never begin another gram's.
        let all: Vec<Vec<u8>> = grams(&["ab", "abc", "é", "ã", "a"]).into_iter().collect();
        for a in &all {
            for b in &all {
                assert!(a == b || !b.starts_with(a), "{a:?} begins {b:?}");
            }
        }
    }

    #[test]
    fn short_queries_are_a_prefix_and_long_ones_their_covering_trigrams() {
        assert_eq!(
            query("É"),
            Some(Query {
                lists: vec![List::Prefix("é".into())],
                exact: true
            })
        );
        assert_eq!(
            query("ABC"),
            Some(Query {
                lists: vec![List::Gram(b"abc".to_vec())],
                exact: true
            })
        );
        assert_eq!(query(""), None);
        let q = query("abcdefg").unwrap();
        assert!(!q.exact);
        assert_eq!(q.lists.len(), 3, "abc, def, efg: {q:?}");
        // Every list a query reads holds the texts that contain it.
        for (text, q) in [
            ("Panen blok Ç-12", "ok ç-1"),
            ("தமிழ் நாடு", "ழ் நா"),
            ("ab", "b"),
            ("xab", "ab"),
        ] {
            let grams = grams(&[text]);
            for l in query(q).unwrap().lists {
                let found = match &l {
                    List::Gram(g) => grams.contains(g),
                    List::Prefix(p) => grams.iter().any(|g| g.starts_with(p)),
                };
                assert!(found, "{text:?} ∌ {l:?}");
            }
        }
    }

    #[test]
    fn intersection_is_the_common_suffixes_in_order() {
        let lists = vec![
            mem(&[1, 3, 4, 7, 9, 12]),
            mem(&[2, 3, 7, 8, 9]),
            mem(&[0, 3, 5, 7, 9, 10]),
        ];
        let got: Vec<Vec<u8>> = Intersect::new(lists, Vec::new())
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got, vec![vec![3], vec![7], vec![9]]);
        let got: Vec<Vec<u8>> = Intersect::new(vec![mem(&[1, 3, 4])], vec![2])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got, vec![vec![3], vec![4]], "one list from its start bound");
        let none: Vec<Sorted> = Vec::new();
        assert_eq!(Intersect::new(none, Vec::new()).count(), 0);
        let disjoint = vec![mem(&[1, 2]), mem(&[3, 4])];
        assert_eq!(Intersect::new(disjoint, Vec::new()).count(), 0);
    }
}
