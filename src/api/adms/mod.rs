//! ADMS family, base `/iclock` (DESIGN.md §3.6): biometric terminals speaking ZKTeco's push
//! protocol. Plain text both ways, exactly as terminals expect: `OK`, `OK: <n>`, the options
//! block, `C:<id>:<command>` lines; errors are plain text too, never a JSON envelope.
//!
//! Only an approved terminal's data is acknowledged: a pending or blocked one gets 503 with
//! Retry-After, so it keeps its punches and sends them again later.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::json;
use warp::http::Method;

use super::{Doc, Family, Problem, Request, Response, Route};
use crate::domain::terminals::{parse_info, zk_time, Sn, TerminalState, UploadTable};
use crate::service::terminals::{self as terms, ingest, sync, Contact, UploadError};
use crate::service::Services;

pub const BASE: &str = "/iclock";
const TAG: &str = "ADMS";
const TEXT: &str = "text/plain";

type Op = fn(Arc<Services>, Request) -> BoxFuture<'static, Response>;

// The route table below reads best as one call per route, its documentation in line.
#[allow(clippy::too_many_arguments)]
fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    query: Vec<(&'static str, &'static str)>,
    example: &'static str,
    max_body: usize,
    f: Op,
) -> Route {
    let handler: super::Handler = Arc::new(move |svc, req| f(svc, req));
    Route {
        method,
        path,
        family: Family::Adms,
        summary,
        tag: TAG,
        doc: Doc {
            description,
            request: None,
            response: Some(json!(example)),
            query,
            security: vec![],
            ..Doc::default()
        },
        handler,
        max_body: Some(max_body),
        // Terminals carry no user credential: they are trusted by approved serial only.
        permission: None,
    }
}

const SN_Q: (&str, &str) = ("SN", "The terminal's serial number (required)");

pub fn routes() -> Vec<Route> {
    let small = 64 << 10;
    vec![
        route(Method::GET, "/iclock/cdata", "Terminal Handshake",
            "`options=all`: the options block (`GET OPTION FROM: <SN>`, stamps, delays, TimeZone in the terminal's zone). A first contact lists the serial as pending. `table=RemoteAtt&PIN=`: that user's USERINFO line.",
            vec![SN_Q, ("options", "all"), ("pushver", "Push protocol version"), ("language", "Terminal language code"), ("DeviceType", "att, pid, ins"), ("table", "RemoteAtt"), ("PIN", "With table=RemoteAtt")],
            "GET OPTION FROM: CQZ7224460271\nATTLOGStamp=None\nOPERLOGStamp=None\nATTPHOTOStamp=None\nErrorDelay=30\nDelay=10\nTransTimes=00:00;14:05\nTransInterval=1\nTransFlag=TransData AttLog\tOpLog\tAttPhoto\tEnrollUser\tChgUser\tEnrollFP\tChgFP\tFACE\tUserPic\nTimeZone=7\nRealtime=1\nEncrypt=None\n",
            small, |s, r| Box::pin(cdata_get(s, r))),
        route(Method::POST, "/iclock/cdata", "Terminal Upload",
            "`table=ATTLOG` (tab-separated punches; answer `OK: <lines stored>`, re-sent lines are stored once, malformed lines are skipped and not counted), `OPERLOG`/`BIODATA` (USER, FP, FACE, OPLOG lines; templates go on to the other terminals), `ATTPHOTO`, `options`. Table names in any case; LF or CRLF; any byte encoding. A pending or blocked terminal gets 503 and keeps its data.",
            vec![SN_Q, ("table", "ATTLOG | OPERLOG | ATTPHOTO | BIODATA | options"), ("Stamp", "Upload stamp, echoed at the next handshake"), ("OpStamp", "Older firmware's OPERLOG stamp")],
            "OK: 500", terms::MAX_UPLOAD_BYTES, |s, r| Box::pin(cdata_post(s, r))),
        route(Method::GET, "/iclock/getrequest", "Terminal Poll",
            "The terminal's heartbeat: `OK`, or the queued commands as `C:<id>:<command>` lines (users, templates). `INFO=` (firmware, counts, address) is recorded.",
            vec![SN_Q, ("INFO", "firmware,users,fingerprints,punches,ip,...")],
            "C:12:DATA UPDATE USERINFO PIN=2\tName=LAKSHMI K\tPri=0\tPasswd=\tCard=\tGrp=1\tTZ=0000000100000000\tVerify=0\n",
            small, |s, r| Box::pin(getrequest(s, r))),
        route(Method::POST, "/iclock/devicecmd", "Terminal Command Result",
            "`ID=<id>&Return=<code>&CMD=<verb>` lines: `Return=0` finishes a command; another code sends it again (up to 5 times).",
            vec![SN_Q], "OK", 256 << 10, |s, r| Box::pin(devicecmd(s, r))),
        route(Method::GET, "/iclock/ping", "Terminal Ping",
            "Keep-alive during long uploads: `OK`.", vec![SN_Q], "OK", small,
            |s, r| Box::pin(ping(s, r))),
        route(Method::POST, "/iclock/registry", "Terminal Registry",
            "Push v3: `DeviceType=..,~DeviceName=..,FirmVer=..` → `RegistryCode=<code>`; the serial is listed (pending until approved).",
            vec![SN_Q], "RegistryCode=CQZ7224460271", small, |s, r| Box::pin(registry(s, r))),
        route(Method::POST, "/iclock/push", "Terminal Push Config",
            "Push v3: the configuration block.", vec![SN_Q],
            "ServerVersion=2.4.1\nServerName=gatehouse\nPushProtVer=2.4.1\nErrorDelay=30\nRequestDelay=10\nTransTimes=00:00;14:05\nTransInterval=1\nTransTables=User Transaction\nRealtime=1\nTimeoutSec=10\n",
            small, |s, r| Box::pin(push(s, r))),
        route(Method::GET, "/iclock/push", "Terminal Push Config (GET)",
            "Push v3, as some firmware asks: the configuration block.", vec![SN_Q],
            "ServerVersion=2.4.1\n", small, |s, r| Box::pin(push(s, r))),
        route(Method::POST, "/iclock/querydata", "Terminal Query Data",
            "Push v3 query results: acknowledged with `OK`.", vec![SN_Q, ("type", "options | tabledata | count"), ("cmdid", "The command id"), ("tablename", "Table")],
            "OK", terms::MAX_UPLOAD_BYTES, |s, r| Box::pin(querydata(s, r))),
        route(Method::GET, "/iclock/rtdata", "Terminal Time",
            "`type=time`: `DateTime=<zk-encoded local time>,ServerTZ=±HHMM` in the terminal's zone.",
            vec![SN_Q, ("type", "time")], "DateTime=833621400,ServerTZ=+0700", small,
            |s, r| Box::pin(rtdata(s, r))),
        route(Method::POST, "/iclock/fdata", "Terminal Photo",
            "An attendance photo (some firmware use this instead of `cdata?table=ATTPHOTO`): `OK`.",
            vec![SN_Q, ("table", "ATTPHOTO"), ("PIN", "Photo name")], "OK",
            terms::MAX_UPLOAD_BYTES, |s, r| Box::pin(fdata(s, r))),
    ]
}

fn text(status: u16, body: impl Into<String>) -> Response {
    Response::bytes(status, TEXT, bytes::Bytes::from(body.into()))
}

fn ok() -> Response {
    text(200, "OK")
}

/// Errors in plain text, e.g. `ERROR: not found`; 503 carries Retry-After.
pub fn render_problem(_req: &Request, p: &Problem) -> Response {
    let args: Vec<(&str, String)> = p.args.iter().map(|(k, v)| (*k, v.clone())).collect();
    let msg = crate::i18n::t(crate::i18n::Lang::En, p.key, &args);
    let mut r = text(p.status, format!("ERROR: {msg}"));
    if p.status == 503 {
        r = r.with_header("retry-after", "30");
    }
    r
}

/// The serial of the request; a request without a valid one is refused in plain text.
fn serial(req: &Request) -> Result<Sn, Response> {
    let raw = req
        .query_params()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("SN"))
        .map(|(_, v)| v);
    match raw.as_deref().and_then(Sn::parse) {
        Some(sn) => Ok(sn),
        None => Err(text(
            400,
            "ERROR: SN (the serial number) is missing or malformed",
        )),
    }
}

fn q(req: &Request, name: &str) -> Option<String> {
    req.query_params()
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn contact_of(req: &Request) -> Contact {
    let info = q(req, "INFO").map(|i| parse_info(&i)).unwrap_or_default();
    Contact {
        // The address it speaks from; what INFO reports only when there is none.
        ip: req.peer.map(|p| p.ip().to_string()).or(info.ip.clone()),
        model: q(req, "DeviceType").filter(|d| d.len() > 3),
        firmware: info.firmware,
        push_version: q(req, "pushver"),
        // Some firmware say their zone in the query; the options upload and registry say it too.
        zone: q(req, "TimeZone").or_else(|| q(req, "TZAdj")),
        users: info.users,
        fps: info.fps,
        faces: info.faces,
    }
}

fn failed(e: crate::service::ServiceError) -> Response {
    let p: Problem = e.into();
    text(
        p.status.max(500),
        "ERROR: the box could not store this; send it again",
    )
    .with_header("retry-after", "30")
}

async fn touch(
    svc: &Services,
    req: &Request,
) -> Result<(Sn, crate::domain::terminals::Terminal), Response> {
    let sn = serial(req)?;
    match terms::contact(svc, &sn, contact_of(req)).await {
        Ok(t) => Ok((sn, t)),
        Err(e) => Err(failed(e)),
    }
}

async fn cdata_get(svc: Arc<Services>, req: Request) -> Response {
    let (sn, t) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if q(&req, "table").is_some_and(|t| t.eq_ignore_ascii_case("RemoteAtt")) {
        if t.state != TerminalState::Approved {
            return ok();
        }
        let pin = q(&req, "PIN").unwrap_or_default();
        return match sync::remote_user_line(&svc, &pin) {
            Ok(Some(line)) => text(200, format!("{line}\n")),
            Ok(None) => ok(),
            Err(e) => failed(e),
        };
    }
    let _ = sn;
    text(200, terms::options_block(&svc, &t))
}

fn refused(sn: &Sn, e: UploadError) -> Response {
    match e {
        UploadError::NotApproved(TerminalState::Blocked) => text(
            503,
            format!("FAIL: terminal {} is blocked; keep the data", sn.0),
        )
        .with_header("retry-after", "300"),
        UploadError::NotApproved(_) => text(
            503,
            format!(
                "FAIL: terminal {} is waiting for approval; keep the data and send it again",
                sn.0
            ),
        )
        .with_header("retry-after", "60"),
        UploadError::Busy => text(503, "FAIL: busy; send it again").with_header("retry-after", "5"),
        UploadError::Service(e) => failed(e),
    }
}

async fn cdata_post(svc: Arc<Services>, req: Request) -> Response {
    let (sn, _) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let table = UploadTable::parse(&q(&req, "table").unwrap_or_default());
    if table == UploadTable::Options {
        let c = ingest::options_contact(&req.body);
        return match terms::contact(&svc, &sn, c).await {
            Ok(_) => ok(),
            Err(e) => failed(e),
        };
    }
    let _admitted = match terms::admit(&sn) {
        Ok(a) => a,
        Err(e) => return refused(&sn, e),
    };
    let stamp = q(&req, "Stamp").or_else(|| q(&req, "OpStamp"));
    match table {
        UploadTable::AttLog => match ingest::attlog(&svc, &sn, stamp.as_deref(), &req.body).await {
            Ok(r) => text(200, format!("OK: {}", r.accepted)),
            Err(e) => refused(&sn, e),
        },
        UploadTable::OperLog | UploadTable::BioData => {
            match ingest::operlog(&svc, &sn, stamp.as_deref(), &req.body).await {
                Ok(r) => text(200, format!("OK: {}", r.accepted)),
                Err(e) => refused(&sn, e),
            }
        }
        UploadTable::AttPhoto => {
            match ingest::photo(&svc, &sn, stamp.as_deref(), &req.body).await {
                Ok(()) => ok(),
                Err(e) => refused(&sn, e),
            }
        }
        UploadTable::Options => ok(),
        UploadTable::Other(name) => {
            // Tables we do not keep (ERRORLOG, IDCARD, rtlog ...) are acknowledged when the
            // terminal may deliver, so they do not clog its queue.
            match terms::terminal(&svc.store, &sn.0) {
                Ok(Some(t)) if t.state == TerminalState::Approved => {
                    tracing::debug!(sn = %sn.0, table = %name, "terminal table not kept");
                    text(
                        200,
                        format!("OK: {}", crate::domain::terminals::lines(&req.body).len()),
                    )
                }
                Ok(Some(t)) => refused(&sn, UploadError::NotApproved(t.state)),
                Ok(None) => refused(&sn, UploadError::NotApproved(TerminalState::Pending)),
                Err(e) => failed(e),
            }
        }
    }
}

async fn getrequest(svc: Arc<Services>, req: Request) -> Response {
    let (sn, t) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if t.state != TerminalState::Approved {
        return ok();
    }
    match sync::deliver(&svc, &sn.0).await {
        Ok(cmds) if cmds.is_empty() => ok(),
        Ok(cmds) => {
            let mut body = String::new();
            for (id, c) in cmds {
                body.push_str(&format!("C:{id}:{c}\n"));
            }
            text(200, body)
        }
        Err(e) => failed(e),
    }
}

async fn devicecmd(svc: Arc<Services>, req: Request) -> Response {
    let (sn, _) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match sync::results(&svc, &sn.0, &req.body).await {
        Ok(_) => ok(),
        Err(e) => failed(e),
    }
}

async fn ping(svc: Arc<Services>, req: Request) -> Response {
    match touch(&svc, &req).await {
        Ok(_) => ok(),
        Err(r) => r,
    }
}

async fn registry(svc: Arc<Services>, req: Request) -> Response {
    let sn = match serial(&req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut c = ingest::options_contact(&req.body);
    if c.ip.is_none() {
        c.ip = req.peer.map(|p| p.ip().to_string());
    }
    match terms::contact(&svc, &sn, c).await {
        Ok(t) if t.state == TerminalState::Blocked => text(406, "ERROR: terminal blocked"),
        Ok(t) => text(200, format!("RegistryCode={}", t.sn)),
        Err(e) => failed(e),
    }
}

async fn push(svc: Arc<Services>, req: Request) -> Response {
    let (_, t) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let zone = t.zone_min(svc.config.site.timezone_offset_minutes);
    text(
        200,
        format!(
            "ServerVersion=2.4.1\nServerName=gatehouse\nPushProtVer=2.4.1\nErrorDelay=30\nRequestDelay={}\nTransTimes=00:00;14:05\nTransInterval=1\nTransTables=User Transaction\nRealtime=1\nSessionID={}\nTimeoutSec=10\nTimeZone={}\n",
            t.delay_secs.max(1),
            t.sn,
            crate::domain::terminals::zone_option(zone)
        ),
    )
}

async fn querydata(svc: Arc<Services>, req: Request) -> Response {
    match touch(&svc, &req).await {
        Ok(_) => ok(),
        Err(r) => r,
    }
}

async fn rtdata(svc: Arc<Services>, req: Request) -> Response {
    let (_, t) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let zone = t.zone_min(svc.config.site.timezone_offset_minutes);
    let local = crate::service::attendance::local(svc.now_unix(), zone);
    let sign = if zone < 0 { '-' } else { '+' };
    text(
        200,
        format!(
            "DateTime={},ServerTZ={sign}{:02}{:02}",
            zk_time(local),
            zone.abs() / 60,
            zone.abs() % 60
        ),
    )
}

async fn fdata(svc: Arc<Services>, req: Request) -> Response {
    let (sn, _) = match touch(&svc, &req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let _admitted = match terms::admit(&sn) {
        Ok(a) => a,
        Err(e) => return refused(&sn, e),
    };
    match ingest::photo(&svc, &sn, None, &req.body).await {
        Ok(()) => ok(),
        Err(e) => refused(&sn, e),
    }
}
