//! Unit tests of the terminal rules (proptest for the line parser).

use super::*;
use proptest::prelude::*;

fn t(s: &str) -> NaiveDateTime {
    parse_time(s).unwrap()
}

#[test]
fn attlog_lines_in_every_variant() {
    let body = b"1\t2026-11-23 07:01:02\t0\t1\t0\t0\t0\r\n\
        \n\
        0002\t2026-11-23 15:00:00\t1\t15\t\t\t\t0\t36.5\t97.7\t25200\tZXh0\n\
        3\t2026-11-23 15:00:00\t\t\t\n\
        4 2026-11-23 16:00:00 2 1\n\
        garbage\n\
        5\t2026-13-23 16:00:00\t0\n\
        6\t2026-11-23 16:00:00\tx\n\
        \t2026-11-23 16:00:00\t0\n";
    let (ok, bad) = parse_attlog(body);
    assert_eq!(bad, 4, "{ok:?}");
    assert_eq!(ok.len(), 4);
    assert_eq!(ok[0].pin, "1");
    assert_eq!(ok[0].local, t("2026-11-23 07:01:02"));
    assert_eq!((ok[0].status, ok[0].verify), (0, 1));
    assert_eq!(ok[1].pin, "0002");
    assert_eq!(ok[1].offset_min, Some(420));
    assert_eq!(ok[1].verify, 15);
    assert_eq!(ok[2].status, 255, "an empty status is undefined");
    assert_eq!((ok[3].pin.as_str(), ok[3].status), ("4", 2));
}

#[test]
fn non_utf8_names_do_not_break_the_body() {
    let mut body = b"USER PIN=9\tName=".to_vec();
    body.extend_from_slice(&[0xC0, 0xEE, 0xCB, 0xC4]); // GB2312
    body.extend_from_slice(b"\tPri=0\n1\t2026-11-23 07:00:00\t0\t1\n");
    let ls = lines(&body);
    assert_eq!(ls.len(), 2);
    assert!(parse_attlog_line(&ls[1]).is_some());
    assert!(matches!(
        parse_operlog_line(&ls[0]),
        Some(OperLine::User(_))
    ));
}

#[test]
fn statuses_map_to_directions() {
    use Direction::*;
    let want = [
        (0, Some(In)),
        (1, Some(Out)),
        (2, Some(Out)),
        (3, Some(In)),
        (4, Some(In)),
        (5, Some(Out)),
        (255, None),
        (9, None),
    ];
    for (s, d) in want {
        assert_eq!(PunchKind::of_status(s).direction(), d, "status {s}");
    }
}

#[test]
fn undefined_status_is_first_in_last_out() {
    let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    assert_eq!(resolve_undefined(d, None), Direction::In);
    let prev_in = Previous {
        at_unix: 0,
        direction: Direction::In,
        day: d,
    };
    assert_eq!(resolve_undefined(d, Some(prev_in)), Direction::Out);
    let prev_out = Previous {
        direction: Direction::Out,
        ..prev_in
    };
    assert_eq!(
        resolve_undefined(d, Some(prev_out)),
        Direction::Out,
        "a later punch is the new last out"
    );
    let yesterday = Previous {
        day: d.pred_opt().unwrap(),
        ..prev_out
    };
    assert_eq!(resolve_undefined(d, Some(yesterday)), Direction::In);
}

#[test]
fn pins_from_codes_and_zones() {
    assert_eq!(pin_of_code("E002").as_deref(), Some("2"));
    assert_eq!(pin_of_code("L-0105").as_deref(), Some("105"));
    assert_eq!(pin_of_code("ADMIN"), None);
    assert_eq!(pin_of_code("E000"), None);
    assert_eq!(normal_pin("0002"), "2");
    assert_eq!(normal_pin("A02"), "A02");
    assert_eq!(parse_zone("7"), Some(420));
    assert_eq!(parse_zone("330"), Some(330));
    assert_eq!(parse_zone("5.5"), Some(330));
    assert_eq!(parse_zone("+07:00"), Some(420));
    assert_eq!(parse_zone("-0330"), Some(-210));
    assert_eq!(parse_zone("-8"), Some(-480));
    assert_eq!(parse_zone("99:00"), None);
    assert_eq!(zone_option(420), "7");
    assert_eq!(zone_option(330), "330");
    assert_eq!(
        to_utc(t("2026-11-23 07:00:00"), 420),
        to_utc(t("2026-11-23 00:00:00"), 0)
    );
}

#[test]
fn operlog_users_and_templates() {
    let u = parse_operlog_line("USER PIN=77\tName=Ravi\tPri=14\tPasswd=\tCard=[1A2B]\tGrp=1\tTZ=0000000100000000\tVerify=0\tViceCard=").unwrap();
    let OperLine::User(kv) = u else { panic!() };
    let user = user_from_line(&kv, "SN1", 5).unwrap();
    assert_eq!(
        (
            user.pin.as_str(),
            user.name.as_str(),
            user.privilege,
            user.card.as_str()
        ),
        ("77", "Ravi", 14, "[1A2B]")
    );
    assert!(cmd_update_user(&user).starts_with("DATA UPDATE USERINFO PIN=77\tName=Ravi\tPri=14\t"));
    let fp = parse_operlog_line("FP PIN=77\tFID=6\tSize=8\tValid=1\tTMP=QUJDRA==").unwrap();
    let OperLine::Template { kind, fields } = fp else {
        panic!()
    };
    assert_eq!(kind, "FP");
    let (fid, rest) = template_parts(&kind, &fields);
    assert_eq!(fid, "6");
    let tpl = Template {
        pin: "77".into(),
        kind,
        fid,
        fields: rest,
        blob: String::new(),
        source_sn: "SN1".into(),
        updated_unix: 0,
    };
    assert_eq!(
        cmd_update_template(&tpl, "QUJDRA=="),
        "DATA UPDATE FINGERTMP PIN=77\tFID=6\tSize=8\tValid=1\tTMP=QUJDRA=="
    );
    assert!(
        parse_operlog_line("fp Pin=1\tFID=1\tTmp=abc").is_some(),
        "lower case tags and keys"
    );
    assert!(
        parse_operlog_line("FP PIN=1\tFID=1\tTMP=").is_none(),
        "no template"
    );
    assert!(matches!(
        parse_operlog_line("OPLOG 4\t0\t2026-11-23 07:00:00\t0\t0\t0\t0"),
        Some(OperLine::Other(_))
    ));
    assert!(parse_operlog_line("NONSENSE").is_none());
}

#[test]
fn devicecmd_results_and_info() {
    let r = parse_devicecmd(b"ID=12&Return=0&CMD=DATA\r\nID=13&Return=-1002&CMD=DATA\nContent=x\n");
    assert_eq!(
        r,
        vec![
            CmdResult {
                id: "12".into(),
                ret: 0,
                cmd: "DATA".into()
            },
            CmdResult {
                id: "13".into(),
                ret: -1002,
                cmd: "DATA".into()
            },
        ]
    );
    let i = parse_info("Ver 8.0.4.2-20190321,10,3,500,192.168.1.201,10,7,12,4,111");
    assert_eq!(i.firmware.as_deref(), Some("Ver 8.0.4.2-20190321"));
    assert_eq!((i.users, i.fps, i.faces), (Some(10), Some(3), Some(4)));
    assert_eq!(i.ip.as_deref(), Some("192.168.1.201"));
    let kv = parse_comma_kv(
        "DeviceType=att,~DeviceName=SpeedFace-V5L,~OEMVendor=ZKTECO CO., LTD.,FirmVer=8.1",
    );
    assert_eq!(field(&kv, "DeviceName"), Some("SpeedFace-V5L"));
    assert_eq!(field(&kv, "OEMVendor"), Some("ZKTECO CO., LTD."));
    assert_eq!(field(&kv, "FirmVer"), Some("8.1"));
}

#[test]
fn commands_are_retried_until_return_zero() {
    let mut c = TerminalCommand {
        id: 1,
        sn: "S".into(),
        text: "X".into(),
        state: CommandState::Queued,
        created_unix: 0,
        sent_unix: None,
        tries: 0,
        last_return: None,
        done_unix: None,
    };
    assert!(c.due(0, 60));
    c.state = CommandState::Sent;
    c.sent_unix = Some(100);
    c.tries = 1;
    assert!(!c.due(130, 60));
    assert!(c.due(160, 60), "no answer: sent again");
    assert!(!c.result(-1005, 170));
    assert_eq!(c.state, CommandState::Queued);
    assert!(c.result(0, 180));
    assert_eq!(c.state, CommandState::Done);
    c.tries = MAX_COMMAND_TRIES;
    c.state = CommandState::Sent;
    assert!(c.result(-1002, 190));
    assert_eq!(c.state, CommandState::Failed);
}

#[test]
fn options_block_starts_with_the_serial() {
    let st = Stamps {
        attlog: "9999".into(),
        ..Default::default()
    };
    let o = render_options(&OptionsBlock {
        sn: "CQZ7",
        stamps: &st,
        zone_min: 330,
        delay_secs: 10,
        error_delay_secs: 30,
        trans_interval_min: 1,
    });
    assert!(o.starts_with("GET OPTION FROM: CQZ7\n"));
    assert!(o.contains("\nATTLOGStamp=9999\n"));
    assert!(o.contains("\nOPERLOGStamp=None\n"));
    assert!(o.contains("\nTimeZone=330\n"));
    assert!(!o.contains('\r'));
    assert_eq!(zk_time(t("2000-01-01 00:00:10")), 10);
}

proptest! {
    #[test]
    fn the_line_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (ok, bad) = parse_attlog(&body);
        prop_assert!(ok.len() + bad <= lines(&body).len());
        let _ = parse_devicecmd(&body);
        for l in lines(&body) { let _ = parse_operlog_line(&l); }
    }

    #[test]
    fn well_formed_lines_round_trip(pin in 1u32..99_999_999, secs in 0i64..2_000_000_000, status in prop_oneof![0u16..6, Just(255u16)], verify in 0u16..30, crlf in any::<bool>(), extra in 0usize..6) {
        let local = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
        let mut line = format!("{pin}\t{}\t{status}\t{verify}\t0", local.format("%Y-%m-%d %H:%M:%S"));
        for _ in 0..extra { line.push('\t'); }
        line.push_str(if crlf { "\r\n" } else { "\n" });
        let (ok, bad) = parse_attlog(line.as_bytes());
        prop_assert_eq!(bad, 0);
        prop_assert_eq!(ok.len(), 1);
        prop_assert_eq!(&ok[0].pin, &pin.to_string());
        prop_assert_eq!(ok[0].local, local);
        prop_assert_eq!(ok[0].status, status);
    }
}
