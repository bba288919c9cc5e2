//! The start marker: the environment variable that tells a fresh copy of
//! the program what it was started for, and the words it answers with.
//!
//! The value is one line of ASCII fields separated by `:`:
//!
//! | field | meaning                                                         |
//! |-------|-----------------------------------------------------------------|
//! | 0     | [`FORMAT`], the marker's own version                            |
//! | 1     | the role: `s` (a fork server) or `w` (a worker)                 |
//! | 2     | the parent's fingerprint of the binary, 16 hex digits           |
//! | 3     | the parent's pid                                                |
//! | 4     | the report pipe's write end                                     |
//! | 5     | the entry function, as an offset from the anchor (decimal)      |
//! | 6     | the descriptors handed over, comma-separated (may be empty)     |
//! | 7     | the request bytes for the entry, hex (may be empty)             |
//!
//! Only our own parent writes it, so a value that does not parse is a bug or
//! a foreign program's variable; the copy then refuses to run anything.

use std::fmt::Write as _;

/// The environment variable's name.
pub(crate) const VAR: &str = "PROC_EXEC_START";

/// The marker format this build writes and reads.
const FORMAT: &str = "1";

/// The most request bytes a marker carries (hex doubles them).
pub(crate) const MAX_REQUEST: usize = 1024;

/// The word a copy writes on its report pipe once it is set up and about
/// to serve.
pub(crate) const READY: i32 = 0;
/// The word for "this binary is not the one that started me" (the
/// fingerprints differ).
pub(crate) const MISMATCH: i32 = -1;
/// The word for a marker that does not parse.
pub(crate) const BAD_MARKER: i32 = -2;
/// The word for a setup step that failed (`prctl`, closing descriptors).
pub(crate) const SETUP_FAILED: i32 = -3;

/// What a copy was started to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A fork server: `fds[0]` is its socket; it forks workers running
    /// `entry`.
    Server,
    /// A worker: it runs `entry(request, fds)`.
    Worker,
}

/// A decoded marker; see the module docs for the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) role: Role,
    pub(crate) fingerprint: u64,
    pub(crate) parent: i32,
    pub(crate) report: i32,
    pub(crate) entry: i64,
    pub(crate) fds: Vec<i32>,
    pub(crate) request: Vec<u8>,
}

impl Marker {
    /// The variable's value.
    pub(crate) fn encode(&self) -> String {
        let role = match self.role {
            Role::Server => 's',
            Role::Worker => 'w',
        };
        let mut out = format!(
            "{FORMAT}:{role}:{:016x}:{}:{}:{}:",
            self.fingerprint, self.parent, self.report, self.entry
        );
        for (i, fd) in self.fds.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let _ = write!(out, "{comma}{fd}");
        }
        out.push(':');
        for byte in &self.request {
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// Reads a value; `None` unless every field is well formed and of this
    /// format.
    pub(crate) fn decode(text: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(text).ok()?;
        let mut fields = text.split(':');
        let mut next = || fields.next();
        if next()? != FORMAT {
            return None;
        }
        let role = match next()? {
            "s" => Role::Server,
            "w" => Role::Worker,
            _ => return None,
        };
        let fingerprint = next()?;
        if fingerprint.len() != 16 {
            return None;
        }
        let fingerprint = u64::from_str_radix(fingerprint, 16).ok()?;
        let parent = next()?.parse().ok()?;
        let report = next()?.parse().ok()?;
        let entry = next()?.parse().ok()?;
        let fds = match next()? {
            "" => Vec::new(),
            list => list
                .split(',')
                .map(|fd| fd.parse().ok())
                .collect::<Option<Vec<i32>>>()?,
        };
        let request = hex(next()?)?;
        if next().is_some() || request.len() > MAX_REQUEST {
            return None;
        }
        Some(Self {
            role,
            fingerprint,
            parent,
            report,
            entry,
            fds,
            request,
        })
    }
}

/// Decodes lowercase or uppercase hex; `None` for an odd length or a
/// non-hex digit.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// FNV-1a, 64 bits: a short, stable digest of a few values (not a
/// cryptographic one: it tells two builds apart, it does not resist an
/// attacker, who could set the variable anyway).
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Marker {
        Marker {
            role: Role::Worker,
            fingerprint: 0x0123_4567_89ab_cdef,
            parent: 4242,
            report: 9,
            entry: -123_456,
            fds: vec![7, 8],
            request: vec![0, 0, 0x10, 0xff],
        }
    }

    #[test]
    fn round_trips() {
        let marker = sample();
        let text = marker.encode();
        assert_eq!(text, "1:w:0123456789abcdef:4242:9:-123456:7,8:000010ff");
        assert_eq!(Marker::decode(text.as_bytes()), Some(marker));
        let server = Marker {
            role: Role::Server,
            fds: vec![3],
            request: Vec::new(),
            ..sample()
        };
        assert_eq!(Marker::decode(server.encode().as_bytes()), Some(server));
        let none = Marker {
            fds: Vec::new(),
            ..sample()
        };
        assert_eq!(Marker::decode(none.encode().as_bytes()), Some(none));
    }

    #[test]
    fn refuses_anything_else() {
        let good = sample().encode();
        for bad in [
            String::new(),
            "2".to_owned() + &good[1..],
            good.replace(":w:", ":x:"),
            good.replace("0123456789abcdef", "0123"),
            good.replace("4242", "x"),
            good.replace("7,8", "7,,8"),
            good.replace("000010ff", "000010f"),
            good.replace("000010ff", "zz"),
            good.clone() + ":extra",
            good.replace("000010ff", &"00".repeat(MAX_REQUEST + 1)),
        ] {
            assert_eq!(Marker::decode(bad.as_bytes()), None, "{bad:?}");
        }
        assert_eq!(Marker::decode(&[0xff, b':']), None);
    }

    #[test]
    fn fnv1a_matches_its_published_vectors() {
        assert_eq!(fnv1a(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(&[b"foo", b"bar"]), fnv1a(&[b"foobar"]));
    }
}
