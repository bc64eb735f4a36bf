//! Firms, gangs, labourers and the estate tasks of a day, with the rules that read them from
//! POABS-named fields (CSV import rows and JSON share one parser).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{valid_code, EstateTaskId, FirmId, GangId, LabourCode};
use crate::domain::validate::{FieldError, Fields};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Firm {
    pub id: FirmId,
    /// "MUNJAMULLAY ESTATE".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gang {
    pub id: GangId,
    pub firm: FirmId,
    pub name: String,
    /// The kangani (field supervisor) who leads it.
    pub supervisor: Option<LabourCode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "M" => Some(Gender::Male),
            "F" => Some(Gender::Female),
            _ => None,
        }
    }
}

/// POABS `ltype`: R regular, C casual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LabourType {
    Regular,
    Casual,
}

impl LabourType {
    pub fn code(self) -> &'static str {
        match self {
            LabourType::Regular => "R",
            LabourType::Casual => "C",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "R" => Some(LabourType::Regular),
            "C" => Some(LabourType::Casual),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labourer {
    pub lcode: LabourCode,
    pub name: String,
    pub father_name: String,
    pub gender: Gender,
    pub address: String,
    pub desig_id: String,
    /// "LABOUR".
    pub desig_name: String,
    /// The code shown in the PEMS front-end ("MNJ-R1045"); `Labor Details` looks it up.
    pub display_code: String,
    /// The firm whose musters the labourer may appear on (checked against the task's firm).
    pub muster_firm: FirmId,
    /// The firm that employs the labourer.
    pub labour_firm: FirmId,
    pub is_helper: bool,
    /// Supervisors have no weighment.
    pub is_supervisor: bool,
    pub ltype: LabourType,
    pub gang: Option<GangId>,
    /// Inactive labourers are left out of `Get Labor` and refused on musters.
    pub active: bool,
    pub updated_unix: i64,
}

/// An estate task of a day (PEMS makes them; here: import or demo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstateTask {
    pub firm: FirmId,
    pub id: EstateTaskId,
    pub date: NaiveDate,
    /// "TEA".
    pub crop: String,
    pub crop_id: String,
    /// "TF18".
    pub field: String,
    pub field_code: String,
    /// "SHEAR PLUCKING [SP]".
    pub job: String,
    pub job_code: String,
    /// The most labourers the task takes.
    pub labour_count: u32,
    /// Harvest jobs need weighment.
    pub harvest_job: bool,
    pub material_reqd: bool,
    pub cocktail_reqd: bool,
    /// Deducted from harvest weights of non-helpers (0 ≤ p < 100).
    pub moisture_perc: f64,
}

fn code<T>(f: &mut Fields<'_>, name: &str, required: bool, wrap: fn(String) -> T) -> Option<T> {
    let s = if required {
        Some(f.required(name, 1, 30))
    } else {
        f.optional(name, 30)
    }?;
    if s.is_empty() {
        return None;
    }
    if !valid_code(&s) {
        f.fail(
            name,
            "field.format",
            vec![("expected", "printable code without '/'".into())],
        );
        return None;
    }
    Some(wrap(s))
}

/// A labourer from POABS-named fields: lcode, name, fatherName, gender (M/F), address, desigid,
/// designame, displaycode, musterfirmid, laborFirmID, isHelper, isSupervisor (T/F), ltype (R/C),
/// gang (optional), active (T/F, default T).
pub fn labourer_from_fields(
    obj: &Map<String, Value>,
    now_unix: i64,
) -> Result<Labourer, Vec<FieldError>> {
    let mut f = Fields::new(obj);
    let lcode = code(&mut f, "lcode", true, LabourCode);
    let name = f.required("name", 1, 100);
    let father_name = f.optional("fatherName", 100).unwrap_or_default();
    let gender_s = f.required("gender", 1, 1);
    let gender = Gender::parse(&gender_s);
    if gender.is_none() && !gender_s.is_empty() {
        f.fail("gender", "field.one_of", vec![("allowed", "M, F".into())]);
    }
    let address = f.optional("address", 200).unwrap_or_default();
    let desig_id = f.optional("desigid", 30).unwrap_or_default();
    let desig_name = f
        .optional("designame", 60)
        .unwrap_or_else(|| "LABOUR".into());
    let display_code = f.optional("displaycode", 10);
    let muster_firm = code(&mut f, "musterfirmid", true, FirmId);
    let labour_firm = code(&mut f, "laborFirmID", false, FirmId);
    let is_helper = f.flag("isHelper", false).unwrap_or(false);
    let is_supervisor = f.flag("isSupervisor", false).unwrap_or(false);
    let ltype_s = f.optional("ltype", 1).unwrap_or_else(|| "R".into());
    let ltype = LabourType::parse(&ltype_s);
    if ltype.is_none() {
        f.fail("ltype", "field.one_of", vec![("allowed", "R, C".into())]);
    }
    let gang = code(&mut f, "gang", false, GangId);
    let active = f.flag("active", false).unwrap_or(true);
    if !f.ok() {
        return Err(f.errors);
    }
    let lcode = lcode.expect("checked");
    let muster_firm = muster_firm.expect("checked");
    Ok(Labourer {
        display_code: display_code.unwrap_or_else(|| lcode.0.chars().take(10).collect()),
        lcode,
        name,
        father_name,
        gender: gender.expect("checked"),
        address,
        desig_id,
        desig_name,
        labour_firm: labour_firm.unwrap_or_else(|| muster_firm.clone()),
        muster_firm,
        is_helper,
        is_supervisor,
        ltype: ltype.expect("checked"),
        gang,
        active,
        updated_unix: now_unix,
    })
}

/// An estate task from POABS-named fields: firmid, TaskID, Date (yyyy-MM-dd), Crop, cropID,
/// Field, FieldCode, Job, JobCode, laborCount, HarvestJob, MaterialReqd, CocktailReqd (T/F),
/// MoisturePerc.
pub fn task_from_fields(obj: &Map<String, Value>) -> Result<EstateTask, Vec<FieldError>> {
    let mut f = Fields::new(obj);
    let firm = code(&mut f, "firmid", true, FirmId);
    let id = code(&mut f, "TaskID", true, EstateTaskId);
    let date_s = f.required("Date", 10, 10);
    let date = NaiveDate::parse_from_str(&date_s, "%Y-%m-%d").ok();
    if date.is_none() && !date_s.is_empty() {
        f.fail(
            "Date",
            "field.format",
            vec![("expected", "yyyy-MM-dd".into())],
        );
    }
    let crop = f.required("Crop", 1, 60);
    let crop_id = f.optional("cropID", 30).unwrap_or_default();
    let field = f.required("Field", 1, 60);
    let field_code = f.optional("FieldCode", 30).unwrap_or_default();
    let job = f.required("Job", 1, 100);
    let job_code = f.optional("JobCode", 30).unwrap_or_default();
    let labour_count = f.int("laborCount", 0, 100_000, false).unwrap_or(0) as u32;
    let harvest_job = f.flag("HarvestJob", true).unwrap_or(false);
    let material_reqd = f.flag("MaterialReqd", false).unwrap_or(false);
    let cocktail_reqd = f.flag("CocktailReqd", false).unwrap_or(false);
    let moisture_perc = f.number("MoisturePerc", 0.0, 99.99, false).unwrap_or(0.0);
    if !f.ok() {
        return Err(f.errors);
    }
    Ok(EstateTask {
        firm: firm.expect("checked"),
        id: id.expect("checked"),
        date: date.expect("checked"),
        crop,
        crop_id,
        field,
        field_code,
        job,
        job_code,
        labour_count,
        harvest_job,
        material_reqd,
        cocktail_reqd,
        moisture_perc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labourer_fields_with_poabs_names() {
        let v = json!({"lcode": "R101", "name": "Muthu", "gender": "f", "musterfirmid": "1",
            "isHelper": "T", "ltype": "C", "displaycode": "MNJ-R1045"});
        let l = labourer_from_fields(v.as_object().unwrap(), 7).unwrap();
        assert_eq!(l.gender, Gender::Female);
        assert!(l.is_helper && !l.is_supervisor && l.active);
        assert_eq!(l.labour_firm, FirmId("1".into()));
        assert_eq!(l.ltype, LabourType::Casual);
        assert_eq!(l.display_code, "MNJ-R1045");
    }

    #[test]
    fn labourer_errors_name_every_field() {
        let v = json!({"lcode": "R/1", "gender": "X", "ltype": "Z", "displaycode": "12345678901"});
        let e = labourer_from_fields(v.as_object().unwrap(), 0).unwrap_err();
        let names: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "lcode",
                "name",
                "gender",
                "displaycode",
                "musterfirmid",
                "ltype"
            ]
        );
    }

    #[test]
    fn task_fields() {
        let v = json!({"firmid": 1, "TaskID": "T1", "Date": "2019-04-30", "Crop": "TEA",
            "Field": "TF18", "Job": "SHEAR PLUCKING [SP]", "laborCount": "40", "HarvestJob": "T",
            "MoisturePerc": "5.5"});
        let t = task_from_fields(v.as_object().unwrap()).unwrap();
        assert_eq!(t.firm, FirmId("1".into()));
        assert_eq!(t.labour_count, 40);
        assert!(t.harvest_job);
        assert_eq!(t.moisture_perc, 5.5);
        let bad = json!({"firmid": 1, "TaskID": "T1", "Date": "30/04/2019", "Crop": "TEA",
            "Field": "TF18", "Job": "SP", "HarvestJob": "T", "MoisturePerc": 100});
        let e = task_from_fields(bad.as_object().unwrap()).unwrap_err();
        let names: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["Date", "MoisturePerc"]);
    }
}
