//! The names of this directory. A tenant is `o=<slug>`, its users are under `ou=users,o=<slug>`
//! and a user is `uid=<upn>,ou=users,o=<slug>`. Attribute names are case-insensitive and spaces
//! around `,` and `=` are tolerated; values may use the escapes of RFC 4514 (`\,` or `\2c`).

/// A name in this directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dn {
    /// The root DSE (the empty name).
    Root,
    /// `o=<slug>`
    Tenant(String),
    /// `ou=users,o=<slug>`
    Users(String),
    /// `uid=<upn>,ou=users,o=<slug>`
    User { tenant: String, upn: String },
}

/// Why a name is not one of [`Dn`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnError {
    /// Not a DN at all (RFC 4514 syntax).
    Syntax,
    /// A well-formed DN that names nothing here.
    Unknown,
}

impl Dn {
    /// The tenant this name is in, if any.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Dn::Root => None,
            Dn::Tenant(t) | Dn::Users(t) | Dn::User { tenant: t, .. } => Some(t),
        }
    }
}

impl std::fmt::Display for Dn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dn::Root => Ok(()),
            Dn::Tenant(t) => write!(f, "o={}", escape(t)),
            Dn::Users(t) => write!(f, "ou=users,o={}", escape(t)),
            Dn::User { tenant, upn } => write!(f, "uid={},ou=users,o={}", escape(upn), escape(tenant)),
        }
    }
}

/// The DN of a tenant's user.
pub fn user_dn(upn: &str, tenant: &str) -> String {
    Dn::User { tenant: tenant.to_owned(), upn: upn.to_owned() }.to_string()
}

/// Parses a DN of this directory (see the module documentation).
pub fn parse(dn: &str) -> Result<Dn, DnError> {
    let rdns = split_rdns(dn)?;
    let mut parts = Vec::with_capacity(rdns.len());
    for rdn in &rdns {
        let (attr, value) = rdn.split_once('=').ok_or(DnError::Syntax)?;
        let attr = attr.trim();
        if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Err(DnError::Syntax);
        }
        if unescaped(value, '+') {
            return Err(DnError::Unknown); // multi-valued RDNs name nothing here
        }
        parts.push((canonical_attr(attr), unescape(trim_value(value))?));
    }
    let is = |i: usize, attr: &str| parts.get(i).is_some_and(|(a, _)| *a == Some(attr));
    let value = |i: usize| parts[i].1.clone();
    let tenant = |i: usize| value(i).to_ascii_lowercase();
    let users_ou = |i: usize| is(i, "ou") && value(i).eq_ignore_ascii_case("users");
    match parts.len() {
        0 => Ok(Dn::Root),
        1 if is(0, "o") => Ok(Dn::Tenant(tenant(0))),
        2 if users_ou(0) && is(1, "o") => Ok(Dn::Users(tenant(1))),
        3 if is(0, "uid") && users_ou(1) && is(2, "o") && !value(0).is_empty() => {
            Ok(Dn::User { tenant: tenant(2), upn: value(0) })
        }
        _ => Err(DnError::Unknown),
    }
}

/// The names of the attributes a DN of this directory uses, with their aliases.
fn canonical_attr(attr: &str) -> Option<&'static str> {
    match attr.to_ascii_lowercase().as_str() {
        "o" | "organizationname" | "2.5.4.10" => Some("o"),
        "ou" | "organizationalunitname" | "2.5.4.11" => Some("ou"),
        "uid" | "userid" | "0.9.2342.19200300.100.1.1" => Some("uid"),
        _ => None,
    }
}

/// Splits at the commas that are not escaped; an empty (or all-space) DN has no RDN.
fn split_rdns(dn: &str) -> Result<Vec<&str>, DnError> {
    if dn.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' | ';' => {
                out.push(&dn[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if escaped {
        return Err(DnError::Syntax);
    }
    out.push(&dn[start..]);
    if out.iter().any(|rdn| rdn.trim().is_empty()) {
        return Err(DnError::Syntax);
    }
    Ok(out)
}

/// Whether `s` has `c` outside an escape.
fn unescaped(s: &str, c: char) -> bool {
    let mut escaped = false;
    for ch in s.chars() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            _ if ch == c => return true,
            _ => {}
        }
    }
    false
}

/// Trims the spaces around a value, but not an escaped last one (`\ `).
fn trim_value(value: &str) -> &str {
    let v = value.trim_start();
    let mut end = v.len();
    while end > 0 && v.as_bytes()[end - 1] == b' ' {
        let backslashes = v.as_bytes()[..end - 1].iter().rev().take_while(|b| **b == b'\\').count();
        if backslashes % 2 == 1 {
            break;
        }
        end -= 1;
    }
    &v[..end]
}

/// Resolves `\c` and `\hh` escapes (RFC 4514 §2.4).
fn unescape(value: &str) -> Result<String, DnError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (Some(&c), _) if !c.is_ascii_alphanumeric() => {
                out.push(c);
                i += 2;
            }
            _ => return Err(DnError::Syntax),
        }
    }
    String::from_utf8(out).map_err(|_| DnError::Syntax)
}

/// Escapes a value for a DN (RFC 4514 §2.4).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && matches!(c, ' ' | '#'))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(tenant: &str, upn: &str) -> Dn {
        Dn::User { tenant: tenant.into(), upn: upn.into() }
    }

    #[test]
    fn names_of_this_directory() {
        assert_eq!(parse(""), Ok(Dn::Root));
        assert_eq!(parse("o=contoso"), Ok(Dn::Tenant("contoso".into())));
        assert_eq!(parse("OU=Users,O=Contoso"), Ok(Dn::Users("contoso".into())));
        assert_eq!(parse("uid=alice@contoso.com,ou=users,o=contoso"), Ok(user("contoso", "alice@contoso.com")));
        assert_eq!(
            parse("  UID = alice@contoso.com , ou = users ;o= contoso "),
            Ok(user("contoso", "alice@contoso.com"))
        );
        assert_eq!(parse("userid=a\\2cb@x.com,ou=users,o=t"), Ok(user("t", "a,b@x.com")));
        assert_eq!(parse("uid=a\\,b@x.com,ou=users,o=t"), Ok(user("t", "a,b@x.com")));
    }

    #[test]
    fn other_names_are_unknown_or_malformed() {
        for unknown in [
            "cn=alice,dc=contoso,dc=com",
            "uid=alice@contoso.com,ou=groups,o=contoso",
            "uid=alice@contoso.com,o=contoso",
            "uid=a+cn=b,ou=users,o=contoso",
            "uid=,ou=users,o=contoso",
            "dc=com",
        ] {
            assert_eq!(parse(unknown), Err(DnError::Unknown), "{unknown}");
        }
        for bad in ["alice@contoso.com", "o=contoso,", ",o=contoso", "o=x\\", "o=x\\zz", "o c=x"] {
            assert_eq!(parse(bad), Err(DnError::Syntax), "{bad}");
        }
    }

    #[test]
    fn names_round_trip() {
        for dn in [user("contoso", "alice@contoso.com"), user("t", "we,ird+\"name\"@x.com"), user("t", " lead@x ")] {
            assert_eq!(parse(&dn.to_string()), Ok(dn.clone()), "{dn}");
        }
        assert_eq!(user_dn("alice@contoso.com", "contoso"), "uid=alice@contoso.com,ou=users,o=contoso");
        assert_eq!(Dn::Users("contoso".into()).to_string(), "ou=users,o=contoso");
    }
}
