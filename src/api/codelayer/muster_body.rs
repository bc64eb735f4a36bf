//! Post Muster's body and answer without a JSON tree of the whole batch: the body is read as
//! it is parsed (one line's small `Value` at a time, turned into a typed `LineIn` at once) and
//! the answer is written from typed structs. A 5,000-line batch costs its typed lines, not a
//! tree of maps several times the body's size. What is accepted and answered is exactly what
//! `parse_muster`/`parse_line` accept and what the map-built answer held (same key order).

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use super::estate::{not_an_object, parse_header, parse_line, Lines};
use crate::api::{Problem, Request};
use crate::domain::estate::muster::{kg, Refusal, Verdict, MAX_LINES};
use crate::domain::validate::FieldError;
use crate::i18n::{self, Lang};
use crate::service::estate::muster::{self, MusterIn, MusterOut};

/// What the body held: the session key, and the musters (or why the batch is refused).
pub struct Body {
    pub key: String,
    pub musters: Result<Vec<MusterIn>, Vec<FieldError>>,
}

/// Reads the body as `Request::json_object` would (same refusals for content type and JSON),
/// into typed musters.
pub fn read(req: &Request) -> Result<Body, Problem> {
    if let Some(ct) = req.header("content-type") {
        let ct = ct.to_ascii_lowercase();
        if !(ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(Problem::new(415, "body.content_type"));
        }
    }
    let read = if req.body.iter().all(|b| b.is_ascii_whitespace()) {
        // An empty body is `{}`.
        Ok(Top {
            object: true,
            ..Top::default()
        })
    } else {
        let mut de = serde_json::Deserializer::from_slice(&req.body);
        TopSeed
            .deserialize(&mut de)
            .and_then(|t| de.end().map(|_| t))
    };
    let top = match read {
        Ok(t) if !t.object => return Err(Problem::new(400, "body.not_object")),
        Ok(t) => t,
        Err(e) => {
            return Err(Problem::new(400, "body.invalid_json")
                .arg("detail", e.to_string())
                .arg("line", e.line().to_string())
                .arg("column", e.column().to_string()))
        }
    };
    let musters = match top.musters {
        Some(list) if !list.is_empty() => {
            let mut errors = Vec::new();
            let ok: Vec<MusterIn> = list
                .into_iter()
                .enumerate()
                .filter_map(|(i, m)| match m {
                    Read::NotObject => {
                        errors.push(not_an_object(i));
                        None
                    }
                    Read::Muster(header, lines) => parse_header(i, &header, lines, &mut errors),
                })
                .collect();
            if errors.is_empty() {
                Ok(ok)
            } else {
                Err(errors)
            }
        }
        _ => Err(vec![FieldError {
            field: "musters".into(),
            key: "field.required",
            args: vec![("field", "musters".into())],
        }]),
    };
    Ok(Body {
        key: top.key,
        musters,
    })
}

/// The top-level object: `key`, `musters`, anything else skipped.
#[derive(Default)]
struct Top {
    object: bool,
    key: String,
    /// `None` when missing or not a list.
    musters: Option<Vec<Read>>,
}

/// One element of `musters[]`: its header fields as a (small) map, its lines already parsed.
enum Read {
    NotObject,
    Muster(Map<String, Value>, Lines),
}

/// Visits any JSON value; `on_map`/`on_seq` handle the one shape wanted, anything else is
/// consumed and answered with `other`.
macro_rules! any_but {
    ($t:ty, $other:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
            Ok($other)
        }
        fn visit_none<E: de::Error>(self) -> Result<$t, E> {
            Ok($other)
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

struct TopSeed;

impl<'de> DeserializeSeed<'de> for TopSeed {
    type Value = Top;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    any_but!(Top, Top::default());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        skip_seq(seq).map(|_| Top::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut top = Top {
            object: true,
            ..Top::default()
        };
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                // A later duplicate wins, as in a parsed map.
                "key" => match map.next_value::<Value>()? {
                    Value::String(s) => top.key = s,
                    _ => top.key.clear(),
                },
                "musters" => top.musters = map.next_value_seed(MustersSeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

struct MustersSeed;

impl<'de> DeserializeSeed<'de> for MustersSeed {
    type Value = Option<Vec<Read>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Vec<Read>>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MustersSeed {
    type Value = Option<Vec<Read>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of musters")
    }
    any_but!(Option<Vec<Read>>, None);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Vec<Read>>, A::Error> {
        skip_map(map).map(|_| None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Vec<Read>>, A::Error> {
        let mut out = Vec::new();
        while let Some(m) = seq.next_element_seed(MusterSeed)? {
            out.push(m);
        }
        Ok(Some(out))
    }
}

struct MusterSeed;

impl<'de> DeserializeSeed<'de> for MusterSeed {
    type Value = Read;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Read, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MusterSeed {
    type Value = Read;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a muster")
    }
    any_but!(Read, Read::NotObject);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Read, A::Error> {
        skip_seq(seq).map(|_| Read::NotObject)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Read, A::Error> {
        let mut header = Map::new();
        let mut lines = Lines::Absent;
        while let Some(k) = map.next_key::<String>()? {
            if k == "muster" {
                lines = map.next_value_seed(LinesSeed)?;
            } else {
                let v = map.next_value::<Value>()?;
                header.insert(k, v);
            }
        }
        Ok(Read::Muster(header, lines))
    }
}

struct LinesSeed;

impl<'de> DeserializeSeed<'de> for LinesSeed {
    type Value = Lines;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Lines, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LinesSeed {
    type Value = Lines;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of muster lines")
    }
    any_but!(Lines, Lines::Absent);
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lines, A::Error> {
        skip_map(map).map(|_| Lines::Absent)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lines, A::Error> {
        let mut lines = Vec::new();
        let mut count = 0usize;
        loop {
            if count < MAX_LINES {
                // One line's tree at a time, parsed and dropped.
                match seq.next_element::<Value>()? {
                    Some(v) => lines.push(parse_line(&v)),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                // Past the limit the lines are only counted (the muster is refused).
                break;
            }
            count += 1;
        }
        Ok(Lines::Read { count, lines })
    }
}

// The answer, field for field what the map-built JSON held, in the same (sorted) key order.

#[derive(Serialize)]
struct Answer<'a> {
    accepted: usize,
    e: u16,
    msg: &'static str,
    musters: Vec<MusterAnswer<'a>>,
    refused: usize,
}

#[derive(Serialize)]
#[allow(non_snake_case)]
struct MusterAnswer<'a> {
    DiarySlipNo: &'a str,
    TaskID: &'a str,
    accepted: usize,
    e: u16,
    firmid: &'a str,
    lines: Vec<LineAnswer<'a>>,
    msg: String,
    refused: usize,
}

#[derive(Serialize)]
#[allow(non_snake_case)]
struct LineAnswer<'a> {
    e: u16,
    index: usize,
    lineID: Option<&'a str>,
    msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    netWeight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

fn line_answer<'a>(index: usize, line_id: Option<&'a str>, v: &Verdict) -> LineAnswer<'a> {
    match v {
        Verdict::Stored { net_g } => LineAnswer {
            e: 200,
            index,
            lineID: line_id,
            msg: "Success".into(),
            netWeight: Some(kg(*net_g)),
            reason: None,
        },
        Verdict::Refused(r) => {
            let (e, reason, key, args) = r.describe();
            LineAnswer {
                e,
                index,
                lineID: line_id,
                msg: i18n::t(Lang::En, key, &args),
                netWeight: None,
                reason: Some(reason),
            }
        }
    }
}

/// The answer to a stored batch, per muster and per line; (bytes, accepted, refused).
pub fn answer(musters: &[MusterIn], outs: &[MusterOut]) -> (Vec<u8>, usize, usize) {
    let (mut accepted, mut refused) = (0usize, 0usize);
    let mut rendered = Vec::with_capacity(outs.len());
    for (m, out) in musters.iter().zip(outs) {
        let stored = out.stored();
        accepted += stored;
        refused += out.verdicts.len() - stored;
        let lines = m
            .lines
            .iter()
            .zip(&out.verdicts)
            .enumerate()
            .map(|(i, (l, v))| line_answer(i, l.line_id.as_deref(), v))
            .collect();
        let task_refusal = out.verdicts.iter().find_map(|v| match v {
            Verdict::Refused(r @ Refusal::UnknownTask { .. }) => Some(r.describe()),
            _ => None,
        });
        let (e, msg) = match task_refusal {
            Some((e, _, key, args)) => (e, i18n::t(Lang::En, key, &args)),
            None => (200, "Success".to_string()),
        };
        rendered.push(MusterAnswer {
            DiarySlipNo: &m.diary_slip_no,
            TaskID: m.task.as_str(),
            accepted: stored,
            e,
            firmid: m.firm.as_str(),
            lines,
            msg,
            refused: out.verdicts.len() - stored,
        });
    }
    let body = serde_json::to_vec(&Answer {
        accepted,
        e: 200,
        msg: "Success",
        musters: rendered,
        refused,
    })
    .expect("an answer of strings and numbers serializes");
    (body, accepted, refused)
}

/// Post Muster: read the batch, resolve the session, store part by part, answer per line.
pub fn post_muster(
    svc: Arc<crate::service::Services>,
    mut req: Request,
    auth: super::Auth,
) -> futures_util::future::BoxFuture<'static, crate::api::Response> {
    Box::pin(async move {
        let body = match read(&req) {
            Ok(b) => b,
            Err(p) => return super::render_problem(&req, &p),
        };
        // The typed batch is all that is kept of the body from here on.
        req.body = bytes::Bytes::new();
        let mut key = Map::new();
        key.insert("key".into(), Value::String(body.key));
        let call = match super::authorize(svc, req, auth, key).await {
            Ok(c) => c,
            Err(resp) => return resp,
        };
        let musters = match body.musters {
            Ok(m) => m,
            Err(errors) => return super::render_problem(&call.req, &Problem::invalid(errors)),
        };
        let Some(session) = call.session.as_ref() else {
            return super::render_problem(&call.req, &Problem::new(401, "auth.token.invalid"));
        };
        let device = muster::Device {
            imei: session.imei.clone(),
            user: session.user,
        };
        let outs = match muster::post(&call.svc, &device, &musters).await {
            Ok(o) => o,
            Err(e) => return super::render_problem(&call.req, &e.into()),
        };
        let (bytes, accepted, refused) = answer(&musters, &outs);
        tracing::info!(imei = %device.imei, musters = outs.len(), accepted, refused, "muster posted");
        crate::api::Response::bytes(200, "application/json", bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codelayer::estate::parse_muster;
    use serde_json::json;

    fn request(body: &str) -> Request {
        let mut headers = warp::http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        Request {
            method: warp::http::Method::POST,
            path: "/codelayer/estate/sync/muster".into(),
            query: String::new(),
            headers,
            body: bytes::Bytes::from(body.to_string()),
            params: Vec::new(),
            peer: None,
        }
    }

    /// What the map-built path made of a body: key, then each muster's (firm, task, lines)
    /// or the errors, as text.
    fn via_tree(body: &str) -> String {
        let obj = match request(body).json_object() {
            Ok(o) => o,
            Err(p) => return format!("problem {} {} {:?}", p.status, p.key, p.args),
        };
        let key = obj.get("key").and_then(Value::as_str).unwrap_or("");
        let musters = match obj.get("musters") {
            Some(Value::Array(a)) if !a.is_empty() => {
                let mut errors = Vec::new();
                let ok: Vec<MusterIn> = a
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| parse_muster(i, m, &mut errors))
                    .collect();
                if errors.is_empty() {
                    Ok(ok)
                } else {
                    Err(errors)
                }
            }
            _ => Err(vec![FieldError {
                field: "musters".into(),
                key: "field.required",
                args: vec![("field", "musters".into())],
            }]),
        };
        show(key, &musters)
    }

    fn via_stream(body: &str) -> String {
        match read(&request(body)) {
            Ok(b) => show(&b.key, &b.musters),
            Err(p) => format!("problem {} {} {:?}", p.status, p.key, p.args),
        }
    }

    fn show(key: &str, m: &Result<Vec<MusterIn>, Vec<FieldError>>) -> String {
        match m {
            Err(e) => format!("{key} {e:?}"),
            Ok(list) => {
                let parts: Vec<String> = list
                    .iter()
                    .map(|m| {
                        let lines: Vec<String> = m
                            .lines
                            .iter()
                            .map(|l| format!("{:?}={:?}", l.line_id, l.fields))
                            .collect();
                        format!(
                            "{}/{}/{}/{}/{:?}/{:?}: {}",
                            m.firm.as_str(),
                            m.task.as_str(),
                            m.diary_slip_no,
                            m.job_ends,
                            m.materials,
                            m.pests,
                            lines.join(",")
                        )
                    })
                    .collect();
                format!("{key} {}", parts.join(" | "))
            }
        }
    }

    #[test]
    fn the_streamed_body_reads_exactly_as_the_parsed_tree() {
        let line = json!({"lineID": "L1", "lcode": "R101", "grossWeight": 20.5, "BagWeight": 0.5,
            "netWeight": 19.0, "isHelper": "F", "HalfDay": "F", "withMuster": "T",
            "DateTime": "2019-04-30 08:15:00"});
        let many: Vec<Value> = (0..MAX_LINES + 1).map(|_| line.clone()).collect();
        let bodies = vec![
            String::new(),
            "[1, 2]".into(),
            "\"text\"".into(),
            "{\"key\": 1".into(),
            "{} trailing".into(),
            json!({"key": "k"}).to_string(),
            json!({"key": null, "musters": null}).to_string(),
            json!({"key": "k", "musters": []}).to_string(),
            json!({"key": "k", "musters": {"a": 1}}).to_string(),
            json!({"key": "k", "musters": [1, "x", null, [1]]}).to_string(),
            json!({"musters": [{"firmid": "1", "TaskID": "T1"}], "key": "late"}).to_string(),
            json!({"key": "k", "musters": [{"firmid": "1", "TaskID": "T1", "muster": []}]}).to_string(),
            json!({"key": "k", "musters": [{"firmid": "1", "TaskID": "T1", "muster": {"x": 1}}]}).to_string(),
            json!({"key": "k", "musters": [{"firmid": "1", "TaskID": "T1", "muster": many}]}).to_string(),
            json!({"key": "k", "extra": [1, {"a": []}], "musters": [
                {"firmid": "1", "TaskID": "T1", "DiarySlipNo": "D", "JobEnds": "T",
                 "materials": [{"MaterialCode": "UREA", "Qty": 2.5}], "pests": [{"pestID": "3", "value": 1}],
                 "muster": [line, {"musterID": "M2", "lcode": "R 1", "DateTime": "x"}, 7, {"lcode": "R1"},
                            {"lineID": "L3", "lcode": "R102", "DateTime": "2019-04-30T08:15:00"}]},
                {"firmid": "", "TaskID": "T2", "materials": 5, "muster": [line]},
                {"firmid": "2", "TaskID": "T3", "muster": [line], "muster2": 1}
            ]})
            .to_string(),
            r#"{"key": "k", "musters": [], "key": "dup"}"#.into(),
            r#"{"key": "k", "musters": [{"firmid": "1", "TaskID": "T1", "muster": [{}]}], "musters": 3}"#.into(),
        ];
        for b in &bodies {
            assert_eq!(
                via_stream(b),
                via_tree(b),
                "body: {}",
                &b[..b.len().min(300)]
            );
        }
    }
}
