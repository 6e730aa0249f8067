//! One `queue_log` line → [`QueueLogLine`], with `nom`. Pure: no I/O, no allocation on the
//! success path (fields borrow from the line).
//!
//! Asterisk writes `epoch|callid|queuename|agent|event|data...` with as many data fields as
//! the event has (none padded, nothing escaped). Realtime-table exports may carry fractional
//! epochs or `YYYY-MM-DD HH:MM:SS[.ffffff]`, read in the report zone unless a UTC offset
//! follows (`Z`, `+00`, `+05:30`, `-0300`: PostgreSQL's text of a `timestamptz`, as the
//! realtime table is exported). Fields beyond the
//! fifth data field stay in `data5`, joined by `|`, as Asterisk's own SQL writer stores them.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use nom::bytes::complete::{tag, take_till, take_while_m_n};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{all_consuming, opt, recognize};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use crate::hours::Zone;

/// One parsed line; fields borrow from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLogLine<'a> {
    /// Epoch seconds (a fractional part is dropped: hours and durations are whole seconds).
    pub time: i64,
    pub callid: &'a str,
    pub queuename: &'a str,
    pub agent: &'a str,
    pub event: &'a str,
    /// `data1..data5`; `data[4]` holds every field from the fifth on, joined by `|`.
    pub data: [&'a str; 5],
}

impl<'a> QueueLogLine<'a> {
    /// The data fields one by one, `data5` split again at `|` (for layouts such as the
    /// six-field `ATTENDEDTRANSFER ... LINK`).
    pub fn fields(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.data[..4]
            .iter()
            .copied()
            .chain(self.data[4].split('|'))
    }

    /// The `n`th data field (0-based) of [`Self::fields`], empty when absent.
    pub fn field(&self, n: usize) -> &'a str {
        if n < 4 {
            self.data[n]
        } else {
            self.data[4].split('|').nth(n - 4).unwrap_or("")
        }
    }
}

/// Hash of a line's bytes (without its line end); stable across builds and platforms,
/// because it is stored (dedupe key of `queue_log`, cursor's first line).
pub fn line_hash(line: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(line)
}

/// Why a line was rejected (stored in `queue_log_rejects.reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    TooFewFields(usize),
    BadTime(String),
    EmptyEvent,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooFewFields(n) => write!(
                f,
                "too few fields ({n}); expected time|callid|queuename|agent|event|data..."
            ),
            LineError::BadTime(t) => write!(
                f,
                "time '{}' is not epoch seconds or 'YYYY-MM-DD HH:MM:SS'",
                t.chars().take(40).collect::<String>()
            ),
            LineError::EmptyEvent => write!(f, "empty event name"),
        }
    }
}

/// The time field: whole or fractional epoch seconds, or a local date-time.
fn epoch(i: &str) -> IResult<&str, i64> {
    let (rest, (whole, _)) = (digit1, opt(preceded(char('.'), digit1))).parse(i)?;
    match whole.parse::<i64>() {
        Ok(n) => Ok((rest, n)),
        Err(_) => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Digit,
        ))),
    }
}

fn digits(n: usize) -> impl Fn(&str) -> IResult<&str, u32> {
    move |i| {
        let (rest, d) = take_while_m_n(n, n, |c: char| c.is_ascii_digit())(i)?;
        Ok((rest, d.parse().unwrap_or(0)))
    }
}

/// Year, month, day, hour, minute, second, and the UTC offset in seconds when one is given.
type DateTimeParts = (u32, u32, u32, u32, u32, u32, Option<i64>);

/// A UTC offset: `Z`, or a sign and hours with optional minutes (`+05`, `+05:30`, `-0530`).
fn utc_offset(i: &str) -> IResult<&str, i64> {
    if let Some(rest) = i.strip_prefix('Z') {
        return Ok((rest, 0));
    }
    let (rest, (sign, h, m)) = (
        one_of("+-"),
        digits(2),
        opt(preceded(opt(char(':')), digits(2))),
    )
        .parse(i)?;
    let m = m.unwrap_or(0);
    if h > 23 || m > 59 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    let secs = i64::from(h) * 3600 + i64::from(m) * 60;
    Ok((rest, if sign == '-' { -secs } else { secs }))
}

fn datetime(i: &str) -> IResult<&str, DateTimeParts> {
    let (rest, (y, _, mo, _, d, _, h, _, mi, _, s, _, offset)) = (
        digits(4),
        tag("-"),
        digits(2),
        tag("-"),
        digits(2),
        one_of(" T"),
        digits(2),
        tag(":"),
        digits(2),
        tag(":"),
        digits(2),
        opt(recognize(preceded(char('.'), digit1))),
        opt(utc_offset),
    )
        .parse(i)?;
    Ok((rest, (y, mo, d, h, mi, s, offset)))
}

fn parse_time(field: &str, zone: Zone) -> Result<i64, LineError> {
    let bad = || LineError::BadTime(field.to_string());
    if let Ok((_, n)) = all_consuming(epoch).parse(field) {
        return Ok(n);
    }
    let (_, (y, mo, d, h, mi, s, offset)) =
        all_consuming(datetime).parse(field).map_err(|_| bad())?;
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d).ok_or_else(bad)?;
    let time = NaiveTime::from_hms_opt(h, mi, s).ok_or_else(bad)?;
    let naive = date.and_time(time);
    Ok(match offset {
        // The wall time is in that offset: the instant is its UTC reading minus the offset.
        Some(offset) => naive.and_utc().timestamp() - offset,
        None => zone.instant_of(naive),
    })
}

fn field(i: &str) -> IResult<&str, &str> {
    take_till(|c| c == '|')(i)
}

fn sep_field(i: &str) -> IResult<&str, &str> {
    preceded(char('|'), field).parse(i)
}

/// Parses one line (without or with its `\n` / `\r\n`). `zone` reads the date-time form.
pub fn parse_line(line: &str, zone: Zone) -> Result<QueueLogLine<'_>, LineError> {
    let line = line.trim_end_matches(['\n', '\r']);
    let head = (field, sep_field, sep_field, sep_field, sep_field).parse(line);
    let (rest, (time, callid, queuename, agent, event)) = match head {
        Ok(v) => v,
        Err(_) => {
            let n = if line.is_empty() {
                0
            } else {
                line.split('|').count()
            };
            return Err(LineError::TooFewFields(n));
        }
    };
    let time = parse_time(time, zone)?;
    if event.is_empty() {
        return Err(LineError::EmptyEvent);
    }
    let mut data = [""; 5];
    // `rest` is empty or starts with '|'; the first four data fields split off, the fifth
    // keeps the remainder verbatim.
    let mut rest = rest.strip_prefix('|').unwrap_or(rest);
    for slot in data.iter_mut().take(4) {
        match memchr::memchr(b'|', rest.as_bytes()) {
            Some(p) => {
                *slot = &rest[..p];
                rest = &rest[p + 1..];
            }
            None => {
                *slot = rest;
                rest = "";
                break;
            }
        }
    }
    data[4] = rest;
    Ok(QueueLogLine {
        time,
        callid,
        queuename,
        agent,
        event,
        data,
    })
}

/// Every event type Asterisk's `app_queue` and `chan_agent` write (1.4 through 20+);
/// anything else (dialplan `QueueLog()`, e.g. FreePBX's `DID`) is [`EventKind::Custom`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    EnterQueue,
    Connect,
    CompleteCaller,
    CompleteAgent,
    Abandon,
    ExitWithTimeout,
    ExitEmpty,
    ExitWithKey,
    Withdraw,
    RingNoAnswer,
    RingCanceled,
    Transfer,
    BlindTransfer,
    AttendedTransfer,
    Pause,
    Unpause,
    PauseAll,
    UnpauseAll,
    AddMember,
    RemoveMember,
    AgentLogin,
    AgentLogoff,
    AgentCallbackLogin,
    AgentCallbackLogoff,
    QueueStart,
    ConfigReload,
    SysCompat,
    AgentDump,
    RingInUse,
    Penalty,
    Custom,
}

impl EventKind {
    /// Whether the event changes an agent's state (login, membership, pause, calls).
    pub fn moves_agents(self) -> bool {
        use EventKind::*;
        matches!(
            self,
            AgentLogin
                | AgentCallbackLogin
                | AgentLogoff
                | AgentCallbackLogoff
                | AddMember
                | RemoveMember
                | Pause
                | PauseAll
                | Unpause
                | UnpauseAll
                | Connect
                | CompleteCaller
                | CompleteAgent
                | Transfer
                | BlindTransfer
                | AttendedTransfer
        )
    }

    /// Membership and login lines (`ADDMEMBER`, `REMOVEMEMBER`, `AGENTLOGIN`, ...).
    pub fn is_membership(self) -> bool {
        use EventKind::*;
        matches!(
            self,
            AddMember
                | RemoveMember
                | AgentLogin
                | AgentLogoff
                | AgentCallbackLogin
                | AgentCallbackLogoff
        )
    }

    pub fn of(event: &str) -> EventKind {
        use EventKind::*;
        match event {
            "ENTERQUEUE" => EnterQueue,
            "CONNECT" => Connect,
            "COMPLETECALLER" => CompleteCaller,
            "COMPLETEAGENT" => CompleteAgent,
            "ABANDON" => Abandon,
            "EXITWITHTIMEOUT" => ExitWithTimeout,
            "EXITEMPTY" => ExitEmpty,
            "EXITWITHKEY" => ExitWithKey,
            "WITHDRAW" => Withdraw,
            "RINGNOANSWER" => RingNoAnswer,
            "RINGCANCELED" => RingCanceled,
            "TRANSFER" => Transfer,
            "BLINDTRANSFER" => BlindTransfer,
            "ATTENDEDTRANSFER" => AttendedTransfer,
            "PAUSE" => Pause,
            "UNPAUSE" => Unpause,
            "PAUSEALL" => PauseAll,
            "UNPAUSEALL" => UnpauseAll,
            "ADDMEMBER" => AddMember,
            "REMOVEMEMBER" => RemoveMember,
            "AGENTLOGIN" => AgentLogin,
            "AGENTLOGOFF" => AgentLogoff,
            "AGENTCALLBACKLOGIN" => AgentCallbackLogin,
            "AGENTCALLBACKLOGOFF" => AgentCallbackLogoff,
            "QUEUESTART" => QueueStart,
            "CONFIGRELOAD" => ConfigReload,
            "SYSCOMPAT" => SysCompat,
            "AGENTDUMP" => AgentDump,
            "RINGINUSE" => RingInUse,
            "PENALTY" => Penalty,
            _ => Custom,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> QueueLogLine<'_> {
        parse_line(line, Zone::UTC).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn whole_epoch_with_data() {
        let l = p("1757250000|1757249990.12|sales|PJSIP/201|CONNECT|12|1757249995.15|7\n");
        assert_eq!(l.time, 1757250000);
        assert_eq!(
            (l.callid, l.queuename, l.agent, l.event),
            ("1757249990.12", "sales", "PJSIP/201", "CONNECT")
        );
        assert_eq!(l.data, ["12", "1757249995.15", "7", "", ""]);
    }

    #[test]
    fn event_without_data_ends_in_bar_and_short_lines_are_padded() {
        let l = p("1757250000|NONE|NONE|NONE|QUEUESTART|");
        assert_eq!(l.event, "QUEUESTART");
        assert_eq!(l.data, [""; 5]);
        let l = p("1757250000|NONE|NONE|NONE|CONFIGRELOAD");
        assert_eq!(l.event, "CONFIGRELOAD");
        assert_eq!(l.data, [""; 5]);
        let l = p("1757250000|1.1|q|NONE|ENTERQUEUE||5551234\r\n");
        assert_eq!(l.data, ["", "5551234", "", "", ""]);
    }

    #[test]
    fn fields_beyond_the_fifth_join_into_data5() {
        let l = p("1|c|q|SIP/201|ATTENDEDTRANSFER|LINK|SIP/201-0001|SIP/301-0002|10|95|1");
        assert_eq!(
            l.data,
            ["LINK", "SIP/201-0001", "SIP/301-0002", "10", "95|1"]
        );
        let f: Vec<&str> = l.fields().collect();
        assert_eq!(f, ["LINK", "SIP/201-0001", "SIP/301-0002", "10", "95", "1"]);
        assert_eq!(l.field(5), "1");
        assert_eq!(l.field(6), "");
    }

    #[test]
    fn fractional_epoch_is_floored() {
        assert_eq!(p("1757250000.987654|c|q|a|PAUSE|lunch").time, 1757250000);
    }

    #[test]
    fn datetime_times_read_in_the_zone() {
        assert_eq!(p("2025-09-07 13:00:00|c|q|a|PAUSE|").time, 1757250000);
        assert_eq!(
            p("2025-09-07 13:00:00.123456|c|q|a|PAUSE|").time,
            1757250000
        );
        let dubai = Zone::parse("Asia/Dubai").unwrap();
        assert_eq!(
            parse_line("2025-09-07T17:00:00|c|q|a|PAUSE|", dubai)
                .unwrap()
                .time,
            1757250000
        );
    }

    #[test]
    fn datetime_times_with_a_utc_offset_are_that_instant() {
        let dubai = Zone::parse("Asia/Dubai").unwrap();
        // 2023-04-12 07:00:36 UTC, whatever the report zone.
        for field in [
            "2023-04-12 07:00:36.992026+00",
            "2023-04-12 07:00:36+00",
            "2023-04-12 07:00:36Z",
            "2023-04-12T07:00:36.5Z",
            "2023-04-12 12:30:36.992026+05:30",
            "2023-04-12 12:30:36+0530",
            "2023-04-12 04:00:36.992026-03",
            "2023-04-12 04:00:36-03:00",
        ] {
            for zone in [Zone::UTC, dubai] {
                let line = format!("{field}|c|q|a|PAUSE|");
                assert_eq!(
                    parse_line(&line, zone).map(|l| l.time),
                    Ok(1681282836),
                    "{field}"
                );
            }
        }
    }

    #[test]
    fn malformed_utc_offsets_are_bad_times() {
        for field in [
            "2023-04-12 07:00:36+",
            "2023-04-12 07:00:36+5",
            "2023-04-12 07:00:36+05:3",
            "2023-04-12 07:00:36 +00",
            "2023-04-12 07:00:36+00Z",
            "2023-04-12 07:00:36+24",
            "2023-04-12 07:00:36+05:60",
        ] {
            let line = format!("{field}|c|q|a|PAUSE|");
            assert_eq!(
                parse_line(&line, Zone::UTC).map(|l| l.time),
                Err(LineError::BadTime(field.to_string())),
                "{field}"
            );
        }
    }

    #[test]
    fn bad_lines_have_reasons() {
        let z = Zone::UTC;
        assert_eq!(parse_line("", z), Err(LineError::TooFewFields(0)));
        assert_eq!(
            parse_line("1757250000|c|q|a", z),
            Err(LineError::TooFewFields(4))
        );
        assert_eq!(parse_line("garbage", z), Err(LineError::TooFewFields(1)));
        assert!(matches!(
            parse_line("12ab|c|q|a|PAUSE|", z),
            Err(LineError::BadTime(_))
        ));
        assert!(matches!(
            parse_line("|c|q|a|PAUSE|", z),
            Err(LineError::BadTime(_))
        ));
        assert!(matches!(
            parse_line("2025-02-30 10:00:00|c|q|a|PAUSE|", z),
            Err(LineError::BadTime(_))
        ));
        assert!(matches!(
            parse_line("99999999999999999999|c|q|a|PAUSE|", z),
            Err(LineError::BadTime(_))
        ));
        assert_eq!(parse_line("1|c|q|a||x", z), Err(LineError::EmptyEvent));
        let msg = LineError::BadTime("x".into()).to_string();
        assert!(msg.contains("epoch seconds"), "{msg}");
    }

    #[test]
    fn lossy_utf8_names_parse() {
        let raw = b"1|c|q|Jos\xe9 P\xe9rez|ADDMEMBER|";
        let text = String::from_utf8_lossy(raw);
        let l = p(&text);
        assert_eq!(l.agent, "Jos\u{fffd} P\u{fffd}rez");
    }

    #[test]
    fn every_layout_asterisk_writes() {
        // (line, event kind, data1..data5) across 1.4 .. 20+.
        let cases: &[(&str, EventKind, [&str; 5])] = &[
            (
                "1|1.1|q|NONE|ENTERQUEUE||5551234",
                EventKind::EnterQueue,
                ["", "5551234", "", "", ""],
            ),
            (
                "1|1.1|q|NONE|ENTERQUEUE||5551234|1",
                EventKind::EnterQueue,
                ["", "5551234", "1", "", ""],
            ),
            (
                "1|1.1|q|NONE|ENTERQUEUE||5551234|1|Jane Roe",
                EventKind::EnterQueue,
                ["", "5551234", "1", "Jane Roe", ""],
            ),
            (
                "1|1.1|q|SIP/201|CONNECT|12",
                EventKind::Connect,
                ["12", "", "", "", ""],
            ),
            (
                "1|1.1|q|SIP/201|CONNECT|12|1.2|5",
                EventKind::Connect,
                ["12", "1.2", "5", "", ""],
            ),
            (
                "1|1.1|q|SIP/201|COMPLETECALLER|12|95|1",
                EventKind::CompleteCaller,
                ["12", "95", "1", "", ""],
            ),
            (
                "1|1.1|q|SIP/201|COMPLETEAGENT|12|95|1",
                EventKind::CompleteAgent,
                ["12", "95", "1", "", ""],
            ),
            (
                "1|1.1|q|NONE|ABANDON|2|1|30",
                EventKind::Abandon,
                ["2", "1", "30", "", ""],
            ),
            (
                "1|1.1|q|NONE|EXITWITHTIMEOUT|2",
                EventKind::ExitWithTimeout,
                ["2", "", "", "", ""],
            ),
            (
                "1|1.1|q|NONE|EXITWITHTIMEOUT|2|1|300",
                EventKind::ExitWithTimeout,
                ["2", "1", "300", "", ""],
            ),
            (
                "1|1.1|q|NONE|EXITEMPTY|1|1|4",
                EventKind::ExitEmpty,
                ["1", "1", "4", "", ""],
            ),
            (
                "1|1.1|q|NONE|EXITWITHKEY|9|1|1|17",
                EventKind::ExitWithKey,
                ["9", "1", "1", "17", ""],
            ),
            (
                "1|1.1|q|NONE|WITHDRAW|1|1|8|info",
                EventKind::Withdraw,
                ["1", "1", "8", "info", ""],
            ),
            (
                "1|1.1|q|SIP/201|RINGNOANSWER|15000",
                EventKind::RingNoAnswer,
                ["15000", "", "", "", ""],
            ),
            (
                "1|1.1|q|SIP/201|RINGCANCELED|2300",
                EventKind::RingCanceled,
                ["2300", "", "", "", ""],
            ),
            (
                "1|1.1|q|SIP/201|TRANSFER|300|from-internal|12|40",
                EventKind::Transfer,
                ["300", "from-internal", "12", "40", ""],
            ),
            (
                "1|1.1|q|SIP/201|BLINDTRANSFER|300|from-internal|12|40|1",
                EventKind::BlindTransfer,
                ["300", "from-internal", "12", "40", "1"],
            ),
            (
                "1|1.1|q|SIP/201|ATTENDEDTRANSFER|BRIDGE|abc-123|12|40|1",
                EventKind::AttendedTransfer,
                ["BRIDGE", "abc-123", "12", "40", "1"],
            ),
            (
                "1|1.1|q|SIP/201|ATTENDEDTRANSFER|APP|Voicemail|12|40|1",
                EventKind::AttendedTransfer,
                ["APP", "Voicemail", "12", "40", "1"],
            ),
            (
                "1|NONE|q|SIP/201|PAUSE|Lunch",
                EventKind::Pause,
                ["Lunch", "", "", "", ""],
            ),
            ("1|NONE|q|SIP/201|PAUSE|", EventKind::Pause, [""; 5]),
            ("1|NONE|q|SIP/201|UNPAUSE|", EventKind::Unpause, [""; 5]),
            (
                "1|NONE|NONE|SIP/201|PAUSEALL|Tea",
                EventKind::PauseAll,
                ["Tea", "", "", "", ""],
            ),
            (
                "1|NONE|NONE|SIP/201|UNPAUSEALL|",
                EventKind::UnpauseAll,
                [""; 5],
            ),
            (
                "1|NONE|q|SIP/201|ADDMEMBER|PAUSED",
                EventKind::AddMember,
                ["PAUSED", "", "", "", ""],
            ),
            (
                "1|NONE|q|SIP/201|REMOVEMEMBER|",
                EventKind::RemoveMember,
                [""; 5],
            ),
            (
                "1|1.1|NONE|Agent/201|AGENTLOGIN|SIP/201-00000001",
                EventKind::AgentLogin,
                ["SIP/201-00000001", "", "", "", ""],
            ),
            (
                "1|1.1|NONE|Agent/201|AGENTLOGOFF|SIP/201-00000001|3600",
                EventKind::AgentLogoff,
                ["SIP/201-00000001", "3600", "", "", ""],
            ),
            (
                "1|NONE|NONE|Agent/201|AGENTCALLBACKLOGIN|201@from-internal",
                EventKind::AgentCallbackLogin,
                ["201@from-internal", "", "", "", ""],
            ),
            (
                "1|NONE|NONE|Agent/201|AGENTCALLBACKLOGOFF|201@from-internal|3600|Autologoff",
                EventKind::AgentCallbackLogoff,
                ["201@from-internal", "3600", "Autologoff", "", ""],
            ),
            (
                "1|NONE|NONE|NONE|QUEUESTART|",
                EventKind::QueueStart,
                [""; 5],
            ),
            (
                "1|NONE|NONE|NONE|CONFIGRELOAD|",
                EventKind::ConfigReload,
                [""; 5],
            ),
            ("1|1.1|q|SIP/201|SYSCOMPAT|", EventKind::SysCompat, [""; 5]),
            ("1|1.1|q|SIP/201|AGENTDUMP|", EventKind::AgentDump, [""; 5]),
            ("1|1.1|q|SIP/201|RINGINUSE|", EventKind::RingInUse, [""; 5]),
            (
                "1|NONE|q|SIP/201|PENALTY|2",
                EventKind::Penalty,
                ["2", "", "", "", ""],
            ),
            (
                "1|1.1|q|NONE|DID|5551000",
                EventKind::Custom,
                ["5551000", "", "", "", ""],
            ),
        ];
        for (line, kind, data) in cases {
            let l = p(line);
            assert_eq!(EventKind::of(l.event), *kind, "{line}");
            assert_eq!(&l.data, data, "{line}");
        }
    }
}
