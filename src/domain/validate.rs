//! Field validation over a JSON object, collecting every problem at once.
//!
//! Messages are catalogue keys plus arguments, so each family renders them in its own language.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Self {
            obj,
            errors: Vec::new(),
        }
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    pub fn fail(&mut self, field: &str, key: &'static str, args: Vec<(&'static str, String)>) {
        let mut args = args;
        args.insert(0, ("field", field.to_string()));
        self.errors.push(FieldError {
            field: field.to_string(),
            key,
            args,
        });
    }

    /// A string of `min..=max` characters. Numbers are accepted as their decimal text,
    /// because handheld apps send both.
    pub fn string(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        let v = match self.raw(name) {
            None => {
                if min > 0 {
                    self.fail(name, "field.required", vec![]);
                }
                return None;
            }
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                self.fail(name, "field.type", vec![("expected", "text".into())]);
                return None;
            }
        };
        let n = v.chars().count();
        if n == 0 && min > 0 {
            self.fail(name, "field.required", vec![]);
            return None;
        }
        if n < min || n > max {
            self.fail(
                name,
                "field.length",
                vec![("min", min.to_string()), ("max", max.to_string())],
            );
            return None;
        }
        Some(v)
    }

    pub fn required(&mut self, name: &str, min: usize, max: usize) -> String {
        self.string(name, min.max(1), max).unwrap_or_default()
    }

    pub fn optional(&mut self, name: &str, max: usize) -> Option<String> {
        self.string(name, 0, max).filter(|s| !s.is_empty())
    }

    /// An integer within `min..=max`; numeric strings are accepted.
    pub fn int(&mut self, name: &str, min: i64, max: i64, required: bool) -> Option<i64> {
        let v = match self.raw(name) {
            None => {
                if required {
                    self.fail(name, "field.required", vec![]);
                }
                return None;
            }
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match v {
            None => {
                self.fail(name, "field.type", vec![("expected", "an integer".into())]);
                None
            }
            Some(i) if i < min || i > max => {
                self.fail(
                    name,
                    "field.range",
                    vec![("min", min.to_string()), ("max", max.to_string())],
                );
                None
            }
            Some(i) => Some(i),
        }
    }

    /// A finite decimal within `min..=max`; numeric strings are accepted.
    pub fn number(&mut self, name: &str, min: f64, max: f64, required: bool) -> Option<f64> {
        let v = match self.raw(name) {
            None => {
                if required {
                    self.fail(name, "field.required", vec![]);
                }
                return None;
            }
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(x) if x.is_finite() && x >= min && x <= max => Some(x),
            Some(x) if x.is_finite() => {
                self.fail(
                    name,
                    "field.range",
                    vec![("min", min.to_string()), ("max", max.to_string())],
                );
                None
            }
            _ => {
                self.fail(name, "field.type", vec![("expected", "a number".into())]);
                None
            }
        }
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.raw(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => {
                self.fail(
                    name,
                    "field.type",
                    vec![("expected", "true or false".into())],
                );
                None
            }
        }
    }

    /// A POABS-style flag: "T"/"F" (also Y/N and booleans).
    pub fn flag(&mut self, name: &str, required: bool) -> Option<bool> {
        match self.raw(name) {
            None => {
                if required {
                    self.fail(name, "field.required", vec![]);
                }
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_uppercase().as_str() {
                "T" | "Y" | "TRUE" | "1" => Some(true),
                "F" | "N" | "FALSE" | "0" => Some(false),
                _ => {
                    self.fail(name, "field.one_of", vec![("allowed", "T, F".into())]);
                    None
                }
            },
            Some(_) => {
                self.fail(name, "field.one_of", vec![("allowed", "T, F".into())]);
                None
            }
        }
    }

    /// One of `allowed` (case-sensitive, as the seeds write them).
    pub fn one_of(&mut self, name: &str, allowed: &[&str], required: bool) -> Option<String> {
        let s = if required {
            Some(self.required(name, 1, 64))
        } else {
            self.optional(name, 64)
        }?;
        if s.is_empty() {
            return None;
        }
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            self.fail(name, "field.one_of", vec![("allowed", allowed.join(", "))]);
            None
        }
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error_at_its_edge() {
        let v = json!({"a": "x".repeat(64), "b": "x".repeat(65), "n": "12", "m": 99, "f": "T", "g": "maybe"});
        let mut f = Fields::new(v.as_object().unwrap());
        assert_eq!(f.string("a", 1, 64).unwrap().len(), 64);
        assert!(f.string("b", 1, 64).is_none());
        assert_eq!(f.int("n", 0, 20, true), Some(12));
        assert_eq!(f.int("m", 0, 20, true), None);
        assert_eq!(f.flag("f", true), Some(true));
        assert_eq!(f.flag("g", true), None);
        assert_eq!(f.string("missing", 1, 5), None);
        let fields: Vec<_> = f.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["b", "m", "g", "missing"]);
    }
}
