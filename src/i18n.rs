//! Message catalogue (`assets/i18n/{id,en}/<area>.json`): every message a family sends has a key here.
//! Daily Activity answers in the caller's `x-language`; Codelayer and Authorize answer in English,
//! as their public documents do.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Id,
    En,
}

impl Lang {
    /// `x-language`: `id` (default), `en`; region variants (`en-US`, `id_ID`) map to their
    /// language; anything else falls back to the default.
    pub fn from_header(v: Option<&str>) -> Lang {
        let v = v.unwrap_or("").trim().to_ascii_lowercase();
        let base = v.split(['-', '_']).next().unwrap_or("");
        match base {
            "en" => Lang::En,
            _ => Lang::Id,
        }
    }
}

type Catalogue = HashMap<String, String>;

/// One file per area and language, so areas never edit the same catalogue file.
macro_rules! area_files {
    ($lang:literal: $($area:literal),*) => {
        [$((
            concat!("assets/i18n/", $lang, "/", $area, ".json"),
            include_str!(concat!("../assets/i18n/", $lang, "/", $area, ".json")),
        )),*]
    };
}

fn load(files: &[(&str, &str)]) -> Catalogue {
    let mut out = Catalogue::new();
    for (name, text) in files {
        let part: Catalogue = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (k, v) in part {
            assert!(
                out.insert(k.clone(), v).is_none(),
                "{name}: key {k} is defined twice"
            );
        }
    }
    out
}

fn catalogues() -> &'static (Catalogue, Catalogue) {
    static C: OnceLock<(Catalogue, Catalogue)> = OnceLock::new();
    C.get_or_init(|| {
        let areas = |lang| match lang {
            "id" => load(
                &area_files!("id": "core", "identity", "attendance", "estate", "gatepass", "work", "security", "reliability", "values", "terminals"),
            ),
            _ => load(
                &area_files!("en": "core", "identity", "attendance", "estate", "gatepass", "work", "security", "reliability", "values", "terminals"),
            ),
        };
        (areas("id"), areas("en"))
    })
}

/// The message for `key` in `lang`, with `{name}` placeholders filled from `args`.
/// An unknown key yields the key itself (a test asserts every key used exists in both).
pub fn t(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let (id, en) = catalogues();
    let cat = if lang == Lang::En { en } else { id };
    let mut s = cat
        .get(key)
        .or_else(|| en.get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string());
    for (name, value) in args {
        // Fixed phrases passed as arguments ("a positive integer") are translated too
        // (`assets/i18n/*/values.json`), so a message is never half in another language.
        // Only descriptive arguments: a field or header name is an identifier ("text").
        let value = match *name {
            "expected" | "detail" => cat.get(&format!("value:{value}")).unwrap_or(value),
            _ => value,
        };
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

pub fn has_key(lang: Lang, key: &str) -> bool {
    let (id, en) = catalogues();
    if lang == Lang::En {
        en.contains_key(key)
    } else {
        id.contains_key(key)
    }
}

/// All keys of both catalogues, for the completeness test.
pub fn keys() -> (Vec<String>, Vec<String>) {
    let (id, en) = catalogues();
    let mut a: Vec<_> = id.keys().cloned().collect();
    let mut b: Vec<_> = en.keys().cloned().collect();
    a.sort();
    b.sort();
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let (id, en) = keys();
        assert_eq!(id, en);
    }

    #[test]
    fn region_variants_map_to_their_language() {
        assert_eq!(Lang::from_header(Some("en-US")), Lang::En);
        assert_eq!(Lang::from_header(Some("EN")), Lang::En);
        assert_eq!(Lang::from_header(Some("id_ID")), Lang::Id);
        assert_eq!(Lang::from_header(None), Lang::Id);
        assert_eq!(Lang::from_header(Some("fr")), Lang::Id);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            t(Lang::En, "field.required", &[("field", "username".into())]),
            "username is required"
        );
    }

    /// English words of the `en` templates, less identifiers (x-app-key, Content-Type,
    /// application/json, yyyy-MM-dd), acronyms and the words Indonesian shares with English.
    fn english_words() -> std::collections::BTreeSet<String> {
        const SHARED: &[&str] = &[
            // Indonesian uses these words as they are.
            "terminal",
            "reset",
            "format",
            "internal",
            "minimum",
            "maksimum",
            "valid",
            "server",
            "token",
            "endpoint",
            "header",
            "gatepass",
            "timestamp",
            "data",
            "status",
            "email",
            "imei",
            "id",
            "kg",
            "m",
            "base",
            "unix",
            "rfc",
            "true",
            "false",
            "from",
            "to",
            "n",
            "authorization",
            "bearer",
        ];
        let (_, en) = catalogues();
        let mut out = std::collections::BTreeSet::new();
        for v in en.values() {
            for w in words(v) {
                if !SHARED.contains(&w.as_str()) {
                    out.insert(w);
                }
            }
        }
        out
    }

    /// Lower-case words of a message: placeholders, identifiers joined by - / _ . and
    /// all-capital acronyms are not words of a language.
    fn words(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            let j = rest[i..].find('}').map(|j| i + j + 1).unwrap_or(rest.len());
            out.extend(plain_words(&rest[..i]));
            rest = &rest[j..];
        }
        out.extend(plain_words(rest));
        out
    }

    fn plain_words(s: &str) -> Vec<String> {
        s.split(|c: char| c.is_whitespace() || ",;:()'\"!?".contains(c))
            .map(|t| t.trim_end_matches('.'))
            .filter(|t| !t.is_empty() && !t.contains(['-', '/', '_', '.', '@']))
            .filter(|t| t.chars().all(|c| c.is_alphabetic()))
            .filter(|t| t.chars().any(|c| c.is_lowercase()) || t.chars().count() == 1)
            .filter(|t| !t.chars().skip(1).any(|c| c.is_uppercase()))
            .map(|t| t.to_lowercase())
            .collect()
    }

    fn english_in(msg: &str, english: &std::collections::BTreeSet<String>) -> Vec<String> {
        words(msg)
            .into_iter()
            .filter(|w| english.contains(w))
            .collect()
    }

    #[test]
    fn no_indonesian_template_holds_english_words() {
        let english = english_words();
        assert!(english.contains("required") && english.contains("invalid"));
        let (id, _) = catalogues();
        let mut bad: Vec<String> = id
            .iter()
            .filter(|(k, _)| !k.starts_with("value:"))
            .filter_map(|(k, v)| {
                let hits = english_in(v, &english);
                (!hits.is_empty()).then(|| format!("{k}: {v:?} has {hits:?}"))
            })
            .collect();
        bad.sort();
        assert!(
            bad.is_empty(),
            "half-translated id messages:\n{}",
            bad.join("\n")
        );
    }

    /// Every fixed phrase the code passes as `expected` (found in the sources, so a new call
    /// site is checked without editing this test) renders in Indonesian without English words.
    #[test]
    fn fixed_phrases_passed_as_arguments_are_translated() {
        let english = english_words();
        let mut phrases = std::collections::BTreeSet::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for pat in [
                        "(\"expected\", \"",
                        ".arg(\"expected\", \"",
                        ".arg(\"detail\", \"",
                    ] {
                        for (i, _) in text.match_indices(pat) {
                            let rest = &text[i + pat.len()..];
                            if let Some(end) = rest.find('"') {
                                phrases.insert(rest[..end].to_string());
                            }
                        }
                    }
                }
            }
        }
        assert!(phrases.contains("a positive integer"), "{phrases:?}");
        let mut bad = Vec::new();
        for ph in &phrases {
            let args = [
                ("field", "id".to_string()),
                ("expected", ph.clone()),
                ("detail", ph.clone()),
            ];
            for key in ["field.type", "field.format"] {
                let msg = t(Lang::Id, key, &args);
                let hits = english_in(&msg, &english);
                if !hits.is_empty() {
                    bad.push(format!("{ph:?} -> {msg:?} has {hits:?}"));
                }
            }
        }
        assert!(bad.is_empty(), "untranslated phrases:\n{}", bad.join("\n"));
        assert_eq!(
            t(
                Lang::Id,
                "field.type",
                &[
                    ("field", "id".into()),
                    ("expected", "a positive integer".into())
                ]
            ),
            "id harus berupa bilangan bulat positif"
        );
        // A field named like a phrase stays the field's name.
        assert_eq!(
            t(Lang::Id, "field.required", &[("field", "text".into())]),
            "text wajib diisi"
        );
    }
}
