//! Codelayer: Estate (POABS paths and field names, public-docs-notes.md). Labor: Details,
//! Register Face; Sync: Download Face File, Get Labor, Get Tasks, Post Muster; Firm List.
//! (`estate/auth` belongs to the identity operations.)

use base64::Engine as _;
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::{route, route_raw, Auth, Call, OpResult, RawOpResult};
use crate::api::{Doc, Problem, Route};
use crate::domain::estate::labour::{EstateTask, LabourType, Labourer};
use crate::domain::estate::muster::{
    grams, LineFields, Material, Pest, Weighment, LINE_TIME_FORMAT, MAX_LINES,
};
use crate::domain::estate::{tf, valid_code, EstateTaskId, FirmId, LabourCode};
use crate::domain::identity::Permission;
use crate::domain::validate::{FieldError, Fields};
use crate::service::estate::{self as estate, faces, labour, muster};

const LABOR: &str = "Codelayer/Estate/Labor";
const SYNC: &str = "Codelayer/Estate/Sync";

pub fn routes() -> Vec<Route> {
    vec![
        route(
            "/codelayer/estate/labor/details",
            "Details",
            LABOR,
            Auth::Session(Permission::MusterView),
            Doc {
                description: "A labourer by `code` (the display code shown in the PEMS front-end, \
                    1–10 characters; an lcode is accepted too), `firmID` and optionally `ltype` \
                    (R regular, C casual). e=404 when no such labourer.",
                request: Some(
                    json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "code": "MNJ-R1045", "firmID": "1", "ltype": "R"}),
                ),
                response: Some(
                    json!({"firmID": "1", "firmName": "MUNJAMULLAY ESTATE", "lcode": "R101", "name": "MUTHU", "fatherName": "RAMASAMY", "gender": "M", "address": "EDAIKAL, TENKASI, THIRUNELVELI DISTRICT", "displaycode": "MNJ-R1045", "ltype": "R"}),
                ),
                required: &["code", "firmID"],
                ..Doc::default()
            },
            cl_op!(details),
        ),
        route(
            "/codelayer/estate/labor/register_face",
            "Register Face",
            LABOR,
            Auth::Session(Permission::FacesEdit),
            Doc {
                description: "Registers (or replaces) a labourer's face: `faceImages` (1–5 base64 \
                    images; `faceImage` for one) and an optional `faceTemplate` (base64, the \
                    matcher's template). Each decoded image or template may be at most \
                    http.max_image_bytes (default 2 MiB); the whole request must fit in \
                    http.max_body_bytes. The face goes into the face file of the labourer's \
                    muster firm with a new `faceVersion`.",
                request: Some(
                    json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "lcode": "R101", "firmID": "1", "faceImages": ["/9j/4AAQSkZJRg…"], "faceTemplate": "AAECAw…"}),
                ),
                response: Some(
                    json!({"lcode": "R101", "firmID": "1", "faceVersion": 42, "images": 1}),
                ),
                required: &["lcode", "faceImages"],
                ..Doc::default()
            },
            cl_op!(register_face),
        ),
        route_raw(
            "/codelayer/estate/sync/faces",
            "Download Face File",
            SYNC,
            Auth::Session(Permission::MusterView),
            Doc {
                description: "The face file of firm `firmID`. Send `version`: the version of the \
                    face file the handheld holds (0 or absent: none). Answers: everything \
                    (`full`: \"T\", replace the file) for 0 or a version this server never \
                    issued; only the changes after `version` (`full`: \"F\"; entries with \
                    `removed`: \"T\" are to be dropped); or nothing (`modified`: \"F\", `faces` \
                    empty, same `version`) when the handheld is current. Keep the returned \
                    `version`. An answer carries about estate.face_file_max_bytes of images; when \
                    `more` is \"T\", call again with the returned `version`. `face_threshold` is \
                    the matching threshold of Settings.",
                request: Some(
                    json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "firmID": "1", "version": 41}),
                ),
                response: Some(
                    json!({"firmID": "1", "version": 42, "full": "F", "modified": "T", "more": "F", "face_threshold": "3",
                    "faces": [{"lcode": "R101", "faceVersion": 42, "removed": "F", "faceImages": ["/9j/4AAQSkZJRg…"], "faceTemplate": "AAECAw…"}]}),
                ),
                required: &["firmID"],
                ..Doc::default()
            },
            crate::cl_raw_op!(sync_faces),
        ),
        route_raw(
            "/codelayer/estate/sync/labors",
            "Get Labor",
            SYNC,
            Auth::Session(Permission::MusterView),
            Doc {
                description: "Every active labourer (up to 25,000). `musterfirmid` is the firm \
                    whose tasks the labourer may be mustered on; supervisors have no weighment.",
                request: Some(json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq"})),
                response: Some(json!({"Labor": [labor_json(&example_labourer())]})),
                ..Doc::default()
            },
            crate::cl_raw_op!(get_labor),
        ),
        route(
            "/codelayer/estate/sync/taskdetails",
            "Get Tasks",
            SYNC,
            Auth::Session(Permission::MusterView),
            Doc {
                description: "The estate tasks of today (the site's local day). Harvest jobs need \
                    weighment; `MoisturePerc` is deducted from non-helpers' net weight.",
                request: Some(json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq"})),
                response: Some(
                    json!({"Task": [{"firmid": "1", "TaskID": "MNJ20190430-1", "Date": "2019-04-30", "Crop": "TEA", "Field": "TF18", "Job": "SHEAR PLUCKING [SP]", "laborCount": 40, "cropID": "1", "FieldCode": "F18", "JobCode": "SP", "HarvestJob": "T", "MaterialReqd": "F", "CocktailReqd": "F", "firm": "MUNJAMULLAY ESTATE", "MoisturePerc": 5.0}]}),
                ),
                ..Doc::default()
            },
            cl_op!(get_tasks),
        ),
        super::route_body(
            "/codelayer/estate/sync/muster",
            "Post Muster",
            SYNC,
            Auth::Session(Permission::MusterPost),
            Doc {
                description:
                    "A batch of musters, answered per line and stored in parts of 500 lines, \
                    each atomic and durable before the next (other writes may land between \
                    parts; a batch cut short is safely sent again, see lineID). \
                    Each muster: firmid, TaskID, DiarySlipNo, JobEnds (T/F), materials[] \
                    {cocktailcode, MaterialCode, Qty}, pests[] {pestID, value}, and muster[] of \
                    1–10,000 lines {lineID, lcode, grossWeight, BagWeight, netWeight, isHelper, \
                    HalfDay, withMuster (T/F), DateTime \"YYYY-MM-DD HH:mm:ss\" site-local}. \
                    `lineID` (also read as `musterID`) is the handheld's own id for the line, \
                    1–64 printable characters, unique per handheld and task (a UUID or a running \
                    number); sending a line again with the same lineID — a retried batch after a \
                    dropped connection — stores nothing new and gets the first answer again; \
                    the same lineID with different content is refused (409, line_id_reused). \
                    A line is refused alone, with `e`, `reason` and `msg`, while the rest is \
                    stored: unknown_labourer (404), inactive_labourer, other_firm (the \
                    labourer's musterfirmid is not the task's firm), twice_on_task_day (409: \
                    one line per labourer and task-day), bad_weight, invalid_field, \
                    unknown_task (404, every line of that muster). Weights are kg. Net weight \
                    (harvest jobs): isHelper T: gross − bag; otherwise (gross − bag) × (1 − \
                    MoisturePerc/100); computed by the server and stored rounded to the gram; a \
                    handheld netWeight further than estate.net_weight_tolerance_kg (default \
                    0.05 kg) from it is refused as bad_weight. Lines of non-harvest jobs and of \
                    supervisors carry zero weights. A muster of more than 10,000 lines, or a \
                    malformed muster header, refuses the request (e=400, nothing stored). The \
                    batch must fit in http.max_body_bytes.",
                request: Some(
                    json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq", "musters": [{
                        "TaskID": "MNJ20190430-1", "firmid": "1", "DiarySlipNo": "DS-118", "JobEnds": "F",
                        "materials": [{"cocktailcode": "0", "MaterialCode": "UREA", "Qty": 2.5}],
                        "pests": [{"pestID": "3", "value": 0}],
                        "muster": [{"lineID": "HH42-000001", "lcode": "R101", "grossWeight": 20.5, "BagWeight": 0.5, "netWeight": 19.0, "isHelper": "F", "HalfDay": "F", "withMuster": "T", "DateTime": "2019-04-30 08:15:00"}]
                    }]}),
                ),
                response: Some(json!({"accepted": 1, "refused": 1, "musters": [{
                "TaskID": "MNJ20190430-1", "firmid": "1", "DiarySlipNo": "DS-118", "e": 200, "msg": "Success", "accepted": 1, "refused": 1,
                "lines": [
                    {"index": 0, "lineID": "HH42-000001", "e": 200, "msg": "Success", "netWeight": 19.0},
                    {"index": 1, "lineID": "HH42-000002", "e": 404, "reason": "unknown_labourer", "msg": "Unknown labourer R999"}
                ]}]})),
                required: &["musters"],
                ..Doc::default()
            },
            super::muster_body::post_muster,
        ),
        route(
            "/codelayer/estate/firms",
            "Firm List",
            "Codelayer/Estate",
            Auth::Session(Permission::MusterView),
            Doc {
                description: "The estate's firms.",
                request: Some(json!({"key": "QH7LlQ3wQMK9oYEKjeG5QOIVJQT4emeq"})),
                response: Some(
                    json!({"Firm": [{"firmID": "1", "firmName": "MUNJAMULLAY ESTATE"}]}),
                ),
                ..Doc::default()
            },
            cl_op!(firm_list),
        ),
    ]
}

fn ok_fields(f: &Fields<'_>) -> Result<(), Problem> {
    if f.ok() {
        Ok(())
    } else {
        Err(Problem::invalid(f.errors.clone()))
    }
}

fn payload(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn code_field(f: &mut Fields<'_>, name: &str) -> String {
    let s = f.required(name, 1, 30);
    if !s.is_empty() && !valid_code(&s) {
        f.fail(
            name,
            "field.format",
            vec![("expected", "printable code".into())],
        );
    }
    s
}

/// POABS spells the firm `firmID` in Labor requests and `firmid` in tasks and musters; accept
/// either where the documents leave it open.
fn firm_key(body: &Map<String, Value>) -> &'static str {
    if body.contains_key("firmID") || !body.contains_key("firmid") {
        "firmID"
    } else {
        "firmid"
    }
}

fn example_labourer() -> Labourer {
    let v = json!({"lcode": "R101", "name": "MUTHU", "gender": "M", "desigid": "1", "designame": "LABOUR",
        "displaycode": "MNJ-R1045", "musterfirmid": "1", "laborFirmID": "1", "ltype": "R", "gang": "G11"});
    crate::domain::estate::labour::labourer_from_fields(v.as_object().expect("object"), 0)
        .expect("example labourer")
}

fn labor_json(l: &Labourer) -> Value {
    json!({
        "lcode": l.lcode.as_str(), "name": l.name, "desigid": l.desig_id, "designame": l.desig_name,
        "displaycode": l.display_code, "musterfirmid": l.muster_firm.as_str(), "isHelper": tf(l.is_helper),
        "laborFirmID": l.labour_firm.as_str(), "isSupervisor": tf(l.is_supervisor), "ltype": l.ltype.code(),
        "gang": l.gang.as_ref().map(|g| g.as_str()).unwrap_or(""),
    })
}

async fn details(call: &mut Call) -> OpResult {
    let mut f = Fields::new(&call.body);
    let code = f.required("code", 1, 10);
    let firm = code_field(&mut f, firm_key(&call.body));
    let ltype = match f.optional("ltype", 1) {
        Some(s) => {
            let t = LabourType::parse(&s);
            if t.is_none() {
                f.fail("ltype", "field.one_of", vec![("allowed", "R, C".into())]);
            }
            t
        }
        None => None,
    };
    ok_fields(&f)?;
    let store = &call.svc.store;
    let firm = FirmId(firm);
    let l = labour::labourer_by_code(store, &code, &firm, ltype)?
        .ok_or_else(|| Problem::new(404, "estate.labour.not_found"))?;
    let firm_name = labour::firm(store, &firm)?
        .map(|f| f.name.clone())
        .unwrap_or_default();
    Ok(payload(json!({
        "firmID": firm.as_str(), "firmName": firm_name, "lcode": l.lcode.as_str(), "name": l.name,
        "fatherName": l.father_name, "gender": l.gender.code(), "address": l.address,
        "displaycode": l.display_code, "ltype": l.ltype.code(),
    })))
}

/// Decodes a base64 image (a `data:…;base64,` prefix is allowed), refusing before decoding
/// anything larger than the limit.
fn image(f: &mut Fields<'_>, field: &str, v: &Value, limit: usize) -> Option<Vec<u8>> {
    let Some(s) = v.as_str() else {
        f.fail(
            field,
            "field.type",
            vec![("expected", "base64 text".into())],
        );
        return None;
    };
    let s = s.split_once(";base64,").map_or(s, |(_, b)| b);
    // Android's Base64.DEFAULT wraps lines every 76 characters: whitespace is not data.
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if s.len() > limit.div_ceil(3) * 4 + 4 {
        f.fail(
            field,
            "estate.face.image_size",
            vec![("max", limit.to_string())],
        );
        return None;
    }
    match base64::engine::general_purpose::STANDARD.decode(&s) {
        Ok(b) if b.is_empty() => {
            f.fail(field, "field.required", vec![]);
            None
        }
        Ok(b) if b.len() > limit => {
            f.fail(
                field,
                "estate.face.image_size",
                vec![("max", limit.to_string())],
            );
            None
        }
        Ok(b) => Some(b),
        Err(_) => {
            f.fail(field, "field.format", vec![("expected", "base64".into())]);
            None
        }
    }
}

async fn register_face(call: &mut Call) -> OpResult {
    let limit = call.svc.config.http.max_image_bytes;
    let mut f = Fields::new(&call.body);
    let lcode = code_field(&mut f, "lcode");
    let firm = f.optional("firmID", 30);
    let mut images = Vec::new();
    match (f.raw("faceImages"), f.raw("faceImage")) {
        (Some(Value::Array(list)), _) => {
            if list.is_empty() || list.len() > crate::domain::estate::faces::MAX_IMAGES {
                f.fail(
                    "faceImages",
                    "field.range",
                    vec![("min", "1".into()), ("max", "5".into())],
                );
            }
            for (i, v) in list
                .iter()
                .enumerate()
                .take(crate::domain::estate::faces::MAX_IMAGES)
            {
                images.extend(image(&mut f, &format!("faceImages[{i}]"), v, limit));
            }
        }
        (Some(_), _) => f.fail(
            "faceImages",
            "field.type",
            vec![("expected", "a list of base64 images".into())],
        ),
        (None, Some(v)) => images.extend(image(&mut f, "faceImage", v, limit)),
        (None, None) => f.fail("faceImages", "field.required", vec![]),
    }
    let template = f
        .raw("faceTemplate")
        .and_then(|v| image(&mut f, "faceTemplate", v, limit));
    ok_fields(&f)?;
    let svc = call.svc.clone();
    let lcode = LabourCode(lcode);
    let lab = labour::labourer(&svc.store, &lcode)?
        .filter(|l| l.active)
        .ok_or_else(|| Problem::new(404, "estate.labour.not_found"))?;
    if firm.is_some_and(|fm| fm != lab.muster_firm.0 && fm != lab.labour_firm.0) {
        return Err(Problem::new(404, "estate.labour.not_found"));
    }
    // Blob writes fsync: off the async workers.
    let (names, template) =
        tokio::task::block_in_place(|| faces::save_blobs(&svc, &images, template.as_deref()))?;
    let imei = call
        .session
        .as_ref()
        .map(|s| s.imei.clone())
        .unwrap_or_default();
    let mut tx = svc.store.begin().await;
    let rec = faces::register(&svc, &mut tx, &lcode, names, template, &imei)?;
    tx.commit().await?;
    Ok(payload(
        json!({"lcode": rec.lcode.as_str(), "firmID": rec.firm.as_str(), "faceVersion": rec.version, "images": rec.images.len()}),
    ))
}

/// Download Face File: one rendering per (firm, version held, data version), shared by every
/// handheld of the firm that asks meanwhile (a morning sync of a whole gang asks the same).
async fn sync_faces(call: &mut Call) -> RawOpResult {
    let mut f = Fields::new(&call.body);
    let firm = code_field(&mut f, firm_key(&call.body));
    let held = f.int("version", 0, i64::MAX, false).unwrap_or(0) as u64;
    ok_fields(&f)?;
    let svc = call.svc.clone();
    let firm = FirmId(firm);
    if labour::firm(&svc.store, &firm)?.is_none() {
        return Err(Problem::new(404, "estate.firm.not_found").arg("firm", firm.0.clone()));
    }
    let budget = svc.config.estate.face_file_max_bytes;
    let version = faces::face_files_version(&svc.store);
    let params = format!("{}\u{0}{held}\u{0}{budget}", firm.as_str());
    let estimate_kib = (budget / 1024).saturating_mul(2) as u32;
    let s = svc.clone();
    let bytes = svc
        .answers
        .get("estate.faces", params, version, estimate_kib, move |cancel| {
            let file = faces::face_file(&s, &firm, held, budget)?;
            cancel.check()?;
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            let list: Vec<Value> = file
                .entries
                .iter()
                .map(|e| {
                    json!({
                        "lcode": e.lcode.as_str(), "faceVersion": e.version, "removed": tf(e.removed),
                        "faceImages": e.images.iter().map(|i| b64(i)).collect::<Vec<_>>(),
                        "faceTemplate": e.template.as_deref().map(b64),
                    })
                })
                .collect();
            let mut out = payload(json!({
                "firmID": firm.as_str(), "version": file.version, "full": tf(file.full),
                "modified": tf(file.modified), "more": tf(file.more),
                "face_threshold": s.config.codelayer.face_threshold, "faces": list,
            }));
            out.insert("e".into(), json!(200));
            out.insert("msg".into(), json!("Success"));
            serde_json::to_vec(&Value::Object(out))
                .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))
        })
        .await?;
    Ok(bytes)
}

/// One labourer as Get Labor sends it: the fields of `labor_json`, in the same (sorted) order,
/// serialized straight from the record instead of through a `Value` tree.
#[derive(serde::Serialize)]
struct LaborRow<'a> {
    desigid: &'a str,
    designame: &'a str,
    displaycode: &'a str,
    gang: &'a str,
    #[serde(rename = "isHelper")]
    is_helper: &'static str,
    #[serde(rename = "isSupervisor")]
    is_supervisor: &'static str,
    #[serde(rename = "laborFirmID")]
    labor_firm_id: &'a str,
    lcode: &'a str,
    ltype: &'static str,
    musterfirmid: &'a str,
    name: &'a str,
}

impl<'a> From<&'a Labourer> for LaborRow<'a> {
    fn from(l: &'a Labourer) -> Self {
        Self {
            desigid: &l.desig_id,
            designame: &l.desig_name,
            displaycode: &l.display_code,
            gang: l.gang.as_ref().map(|g| g.as_str()).unwrap_or(""),
            is_helper: tf(l.is_helper),
            is_supervisor: tf(l.is_supervisor),
            labor_firm_id: l.labour_firm.as_str(),
            lcode: l.lcode.as_str(),
            ltype: l.ltype.code(),
            musterfirmid: l.muster_firm.as_str(),
            name: &l.name,
        }
    }
}

/// Get Labor: one rendering per version of the labourer tree, shared by every handheld that
/// syncs meanwhile (service::answers); streamed from the store row by row, never a whole
/// `Vec<Labourer>` plus a `Value` per row per caller.
async fn get_labor(call: &mut Call) -> RawOpResult {
    let svc = call.svc.clone();
    let store = svc.store.clone();
    let version = labour::labourers_version(&store);
    let bytes = svc
        .answers
        .get(
            "estate.labor",
            String::new(),
            version,
            8 << 10,
            move |cancel| render_labor(labour::labourers_iter(&store)?, || cancel.check()),
        )
        .await?;
    Ok(bytes)
}

/// The Get Labor answer from `rows` (inactive labourers left out); `check` is called every
/// 1,024 rows (the answers cache's cancellation). Public for `bench-labor`, which times it over
/// records in memory: the yardstick Get Labor's answer time is held to.
pub fn render_labor<L: std::borrow::Borrow<Labourer>>(
    rows: impl Iterator<Item = crate::service::Result<L>>,
    mut check: impl FnMut() -> crate::service::Result<()>,
) -> crate::service::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 << 10);
    out.extend_from_slice(b"{\"Labor\":[");
    let mut first = true;
    for (i, l) in rows.enumerate() {
        if i % 1024 == 0 {
            check()?;
        }
        let l = l?;
        let l = l.borrow();
        if !l.active {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut out, &LaborRow::from(l))
            .map_err(|e| crate::service::ServiceError::Internal(e.to_string()))?;
    }
    out.extend_from_slice(b"],\"e\":200,\"msg\":\"Success\"}");
    out.shrink_to_fit();
    Ok(out)
}

fn task_json(t: &EstateTask, firm_name: &str) -> Value {
    json!({
        "firmid": t.firm.as_str(), "TaskID": t.id.as_str(), "Date": t.date.format("%Y-%m-%d").to_string(),
        "Crop": t.crop, "Field": t.field, "Job": t.job, "laborCount": t.labour_count, "cropID": t.crop_id,
        "FieldCode": t.field_code, "JobCode": t.job_code, "HarvestJob": tf(t.harvest_job),
        "MaterialReqd": tf(t.material_reqd), "CocktailReqd": tf(t.cocktail_reqd), "firm": firm_name,
        "MoisturePerc": t.moisture_perc,
    })
}

async fn get_tasks(call: &mut Call) -> OpResult {
    let svc = &call.svc;
    let names: std::collections::HashMap<FirmId, String> = labour::firms(&svc.store)?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let list: Vec<Value> = labour::tasks_of_day(&svc.store, estate::today(svc))?
        .iter()
        .map(|t| task_json(t, names.get(&t.firm).map(String::as_str).unwrap_or("")))
        .collect();
    let mut out = Map::new();
    out.insert("Task".into(), Value::Array(list));
    Ok(out)
}

async fn firm_list(call: &mut Call) -> OpResult {
    let list: Vec<Value> = labour::firms(&call.svc.store)?
        .iter()
        .map(|f| json!({"firmID": f.id.as_str(), "firmName": f.name}))
        .collect();
    let mut out = Map::new();
    out.insert("Firm".into(), Value::Array(list));
    Ok(out)
}

/// Keys the handheld's line id may arrive under (`lineID` is the documented one).
const LINE_ID_KEYS: [&str; 4] = ["lineID", "musterID", "lineId", "LineID"];

pub(crate) fn parse_line(v: &Value) -> muster::LineIn {
    let empty = Map::new();
    let obj = v.as_object().unwrap_or(&empty);
    let mut f = Fields::new(obj);
    let key = LINE_ID_KEYS
        .iter()
        .find(|k| f.raw(k).is_some())
        .copied()
        .unwrap_or("lineID");
    let line_id = f
        .string(key, 1, 64)
        .filter(|s| s.chars().all(|c| !c.is_control()));
    let first_error = |f: &Fields<'_>| f.errors.first().cloned();
    if !v.is_object() {
        f.fail(
            "muster",
            "field.type",
            vec![("expected", "an object".into())],
        );
    }
    if line_id.is_none() {
        if f.errors.is_empty() {
            f.fail(
                key,
                "field.format",
                vec![("expected", "1–64 printable characters".into())],
            );
        }
        return muster::LineIn {
            line_id: None,
            fields: Err(first_error(&f).expect("an error")),
        };
    }
    let lcode = f.required("lcode", 1, 30);
    if !lcode.is_empty() && !valid_code(&lcode) {
        f.fail(
            "lcode",
            "field.format",
            vec![("expected", "printable code".into())],
        );
    }
    let w = |f: &mut Fields<'_>, name: &str| f.number(name, -1e9, 1e9, false);
    let gross = w(&mut f, "grossWeight").unwrap_or(0.0);
    let bag = w(&mut f, "BagWeight").unwrap_or(0.0);
    let net = w(&mut f, "netWeight");
    // Absent: the labourer's own helper flag decides (see the service).
    let is_helper = f.flag("isHelper", false);
    let half_day = f.flag("HalfDay", false).unwrap_or(false);
    let with_muster = f.flag("withMuster", false).unwrap_or(true);
    let at_s = f.required("DateTime", 19, 19);
    // "YYYY-MM-DD HH:mm:ss" as documented; the ISO 'T' separator is read too.
    let at = NaiveDateTime::parse_from_str(&at_s, LINE_TIME_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(&at_s, "%Y-%m-%dT%H:%M:%S"))
        .ok();
    if at.is_none() && !at_s.is_empty() {
        f.fail(
            "DateTime",
            "field.format",
            vec![("expected", "YYYY-MM-DD HH:mm:ss".into())],
        );
    }
    let fields = match (first_error(&f), at) {
        (Some(fe), _) => Err(fe),
        (None, Some(at)) => Ok(LineFields {
            lcode: LabourCode(lcode),
            weighment: Weighment {
                gross_g: grams(gross),
                bag_g: grams(bag),
                net_g: net.map(grams),
            },
            is_helper,
            half_day,
            with_muster,
            at,
        }),
        (None, None) => Err(FieldError {
            field: "DateTime".into(),
            key: "field.required",
            args: vec![("field", "DateTime".into())],
        }),
    };
    muster::LineIn { line_id, fields }
}

fn list<'a>(f: &mut Fields<'a>, name: &str, path: &str) -> &'a [Value] {
    match f.raw(name) {
        None => &[],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => {
            f.fail(path, "field.type", vec![("expected", "a list".into())]);
            &[]
        }
    }
}

/// A muster's `muster[]` as read: its length, and its first `MAX_LINES` lines parsed.
pub(crate) enum Lines {
    /// Missing, null, or not a list.
    Absent,
    Read {
        count: usize,
        lines: Vec<muster::LineIn>,
    },
}

pub(crate) fn not_an_object(i: usize) -> FieldError {
    FieldError {
        field: format!("musters[{i}]"),
        key: "field.type",
        args: vec![
            ("field", format!("musters[{i}]")),
            ("expected", "an object".into()),
        ],
    }
}

/// A muster read from a parsed tree: the proptest target, and what the streamed reader
/// (`muster_body`) is checked against.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn parse_muster(
    i: usize,
    v: &Value,
    errors: &mut Vec<FieldError>,
) -> Option<muster::MusterIn> {
    let Some(obj) = v.as_object() else {
        errors.push(not_an_object(i));
        return None;
    };
    let lines = match obj.get("muster") {
        Some(Value::Array(a)) => Lines::Read {
            count: a.len(),
            lines: a.iter().take(MAX_LINES).map(parse_line).collect(),
        },
        _ => Lines::Absent,
    };
    parse_header(i, obj, lines, errors)
}

/// A muster's header fields (everything but its lines, read apart so a large batch is never
/// held as one JSON tree: see `muster_body`).
pub(crate) fn parse_header(
    i: usize,
    obj: &Map<String, Value>,
    lines: Lines,
    errors: &mut Vec<FieldError>,
) -> Option<muster::MusterIn> {
    let at = |name: &str| format!("musters[{i}].{name}");
    let mut f = Fields::new(obj);
    let firm = code_field(&mut f, "firmid");
    let task = code_field(&mut f, "TaskID");
    let slip = f.optional("DiarySlipNo", 30).unwrap_or_default();
    let job_ends = f.flag("JobEnds", false).unwrap_or(false);
    let mut materials = Vec::new();
    for m in list(&mut f, "materials", &at("materials")) {
        let empty = Map::new();
        let mut g = Fields::new(m.as_object().unwrap_or(&empty));
        let material = Material {
            cocktail_code: g.optional("cocktailcode", 30).unwrap_or_else(|| "0".into()),
            material_code: g.required("MaterialCode", 1, 30),
            qty: g.number("Qty", 0.0, 1e9, true).unwrap_or(0.0),
        };
        if let Some(e) = g.errors.first() {
            f.fail(
                &at(&format!("materials.{}", e.field)),
                e.key,
                e.args
                    .iter()
                    .filter(|(k, _)| *k != "field")
                    .cloned()
                    .collect(),
            );
        }
        materials.push(material);
    }
    let mut pests = Vec::new();
    for p in list(&mut f, "pests", &at("pests")) {
        let empty = Map::new();
        let mut g = Fields::new(p.as_object().unwrap_or(&empty));
        let pest = Pest {
            pest_id: g.required("pestID", 1, 30),
            value: g.number("value", 0.0, 1e9, false).unwrap_or(0.0),
        };
        if let Some(e) = g.errors.first() {
            f.fail(
                &at(&format!("pests.{}", e.field)),
                e.key,
                e.args
                    .iter()
                    .filter(|(k, _)| *k != "field")
                    .cloned()
                    .collect(),
            );
        }
        pests.push(pest);
    }
    let lines = match lines {
        Lines::Read { count, lines } if (1..=MAX_LINES).contains(&count) => lines,
        Lines::Read { .. } => {
            f.fail(
                &at("muster"),
                "estate.muster.line_count",
                vec![("max", MAX_LINES.to_string())],
            );
            Vec::new()
        }
        Lines::Absent => {
            f.fail(&at("muster"), "field.required", vec![]);
            Vec::new()
        }
    };
    // Header fields are renamed to their path in the batch.
    for e in f.errors.iter_mut() {
        if !e.field.starts_with("musters[") {
            e.field = at(&e.field);
            if let Some(a) = e.args.iter_mut().find(|(k, _)| *k == "field") {
                a.1 = e.field.clone();
            }
        }
    }
    if !f.errors.is_empty() {
        errors.extend(f.errors);
        return None;
    }
    Some(muster::MusterIn {
        firm: FirmId(firm),
        task: EstateTaskId(task),
        diary_slip_no: slip,
        job_ends,
        materials,
        pests,
        lines,
    })
}
