//! Trigrams of text, for searches that find a substring through an index instead of reading
//! every record: "contains `q`" implies "holds every trigram of `q`", so the records holding
//! all of `q`'s trigrams are a superset of the matches, checked one by one afterwards.
//!
//! Both sides are lowercased first (the searches compare lowercased text), and a trigram is
//! three characters, not bytes, so a substring of characters always maps to trigrams of the
//! text. A trigram is stored as its three code points, 4 bytes each, big-endian: fixed width,
//! so it can lead an index key.

use std::collections::BTreeSet;

/// Three characters, as three big-endian code points.
pub type Gram = [u8; 12];

fn gram(w: &[char]) -> Gram {
    let mut g = [0u8; 12];
    for (i, c) in w.iter().enumerate() {
        g[i * 4..i * 4 + 4].copy_from_slice(&(*c as u32).to_be_bytes());
    }
    g
}

/// Every distinct trigram of each text (lowercased). Texts are taken apart, so no trigram spans
/// two of them.
pub fn grams<'a>(texts: impl IntoIterator<Item = &'a str>) -> BTreeSet<Gram> {
    let mut out = BTreeSet::new();
    for t in texts {
        let chars: Vec<char> = t.to_lowercase().chars().collect();
        out.extend(chars.windows(3).map(gram));
    }
    out
}

/// The trigrams a search for `q` needs (lowercased, trimmed, each once, in the order they
/// occur), or None when `q` is shorter than three characters and has none: such a search
/// cannot use the index.
pub fn query_grams(q: &str) -> Option<Vec<Gram>> {
    // Lowercased before it is trimmed, as the search lowercases it: what is left is a
    // substring of the lowercased query, so of any lowercased text that matches.
    let lower = q.to_lowercase();
    let chars: Vec<char> = lower.trim().chars().collect();
    let mut v: Vec<Gram> = Vec::new();
    for g in chars.windows(3).map(gram) {
        if !v.contains(&g) {
            v.push(g);
        }
    }
    (!v.is_empty()).then_some(v)
}

/// At most `n` of a query's trigrams, spread over it from its first to its last: enough to
/// narrow the candidates (each is checked against the whole text anyway) without a cursor
/// per trigram of a long phrase.
pub fn spread(grams: &[Gram], n: usize) -> Vec<Gram> {
    if grams.len() <= n || n < 2 {
        return grams.iter().take(n.max(1)).copied().collect();
    }
    (0..n)
        .map(|i| grams[i * (grams.len() - 1) / (n - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(g: &Gram) -> String {
        g.chunks(4)
            .map(|c| char::from_u32(u32::from_be_bytes(c.try_into().unwrap())).unwrap())
            .collect()
    }

    #[test]
    fn a_text_has_each_lowercased_trigram_once() {
        let g: Vec<String> = grams(["Fence FENCE"]).iter().map(text_of).collect();
        assert_eq!(
            g,
            vec![" fe", "e f", "enc", "fen", "nce", "ce "]
                .into_iter()
                .map(String::from)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn texts_are_taken_apart() {
        let g = grams(["ab", "cd"]);
        assert!(
            g.is_empty(),
            "no trigram spans the title and the description"
        );
        assert_eq!(grams(["abc", "bcd"]).len(), 2);
    }

    #[test]
    fn trigrams_are_characters_not_bytes() {
        let g: Vec<String> = grams(["Émué"]).iter().map(text_of).collect();
        assert_eq!(g, vec!["mué", "ému"]);
    }

    #[test]
    fn a_query_shorter_than_three_characters_has_none() {
        assert_eq!(query_grams("ab"), None);
        assert_eq!(query_grams("  ab  "), None);
        assert_eq!(query_grams(""), None);
        assert_eq!(query_grams(" Abc ").map(|v| v.len()), Some(1));
    }

    #[test]
    fn a_long_query_is_narrowed_by_trigrams_from_its_first_to_its_last() {
        let q = query_grams("weeding block 1").unwrap();
        let picked: Vec<String> = spread(&q, 4).iter().map(text_of).collect();
        assert_eq!(picked, ["wee", "ing", "blo", "k 1"]);
        assert_eq!(spread(&q[..2], 4), q[..2].to_vec());
        assert_eq!(query_grams("aaaa").unwrap().len(), 1, "each trigram once");
    }

    #[test]
    fn every_substring_of_a_text_has_its_trigrams_in_the_text() {
        let text = "Weeding Block 7 – Ördek Hill";
        let all = grams([text]);
        let chars: Vec<char> = text.chars().collect();
        for i in 0..chars.len() {
            for j in i + 3..=chars.len() {
                let q: String = chars[i..j].iter().collect();
                if q.trim().chars().count() < 3 {
                    continue;
                }
                for g in query_grams(&q).unwrap() {
                    assert!(all.contains(&g), "{q:?}");
                }
            }
        }
    }
}
