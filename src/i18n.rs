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
                &area_files!("id": "core", "identity", "attendance", "estate", "gatepass", "work", "terminals"),
            ),
            _ => load(
                &area_files!("en": "core", "identity", "attendance", "estate", "gatepass", "work", "terminals"),
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
}
