//! Search filters: evaluated on an entry in memory (case-insensitive, with the three-valued
//! logic of RFC 4511 §4.5.1.7), and read for a cheaper way to find the users they can match.

use ldap3_proto::proto::{LdapFilter, LdapSubstringFilter};

use crate::entry::{Entry, canonical};

/// TRUE, FALSE or Undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Undefined,
}

impl Truth {
    fn of(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Undefined => Truth::Undefined,
        }
    }
}

/// How values compare: case-insensitively, ignoring spaces at either end.
fn norm(v: &str) -> String {
    v.trim().to_lowercase()
}

/// Whether `entry` matches `filter` (only TRUE returns the entry).
pub fn matches(filter: &LdapFilter, entry: &Entry) -> bool {
    eval(filter, entry) == Truth::True
}

pub fn eval(filter: &LdapFilter, entry: &Entry) -> Truth {
    match filter {
        LdapFilter::And(fs) => fs.iter().fold(Truth::True, |acc, f| match (acc, eval(f, entry)) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::Undefined, _) | (_, Truth::Undefined) => Truth::Undefined,
            _ => Truth::True,
        }),
        LdapFilter::Or(fs) => fs.iter().fold(Truth::False, |acc, f| match (acc, eval(f, entry)) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::Undefined, _) | (_, Truth::Undefined) => Truth::Undefined,
            _ => Truth::False,
        }),
        LdapFilter::Not(f) => eval(f, entry).not(),
        LdapFilter::Present(attr) => Truth::of(canonical(attr).is_some_and(|a| entry.values(a).is_some())),
        LdapFilter::Equality(attr, value) | LdapFilter::Approx(attr, value) => {
            let value = norm(value);
            assertion(entry, attr, |v| norm(v) == value)
        }
        LdapFilter::GreaterOrEqual(attr, value) => {
            let value = norm(value);
            assertion(entry, attr, |v| norm(v) >= value)
        }
        LdapFilter::LessOrEqual(attr, value) => {
            let value = norm(value);
            assertion(entry, attr, |v| norm(v) <= value)
        }
        LdapFilter::Substring(attr, sub) => assertion(entry, attr, |v| substring_matches(&norm(v), sub)),
        LdapFilter::Extensible(_) => Truth::Undefined,
    }
}

/// An assertion on an attribute: Undefined for an attribute this directory does not know,
/// FALSE when the entry does not have it.
fn assertion(entry: &Entry, attr: &str, test: impl Fn(&str) -> bool) -> Truth {
    match canonical(attr) {
        None => Truth::Undefined,
        Some(a) => Truth::of(entry.values(a).is_some_and(|vals| vals.iter().any(|v| test(v)))),
    }
}

fn substring_matches(value: &str, sub: &LdapSubstringFilter) -> bool {
    let mut rest = value;
    if let Some(initial) = &sub.initial {
        let initial = norm(initial);
        let Some(r) = rest.strip_prefix(initial.as_str()) else { return false };
        rest = r;
    }
    for any in &sub.any {
        let any = norm(any);
        let Some(at) = rest.find(any.as_str()) else { return false };
        rest = &rest[at + any.len()..];
    }
    match &sub.final_ {
        Some(last) => rest.ends_with(norm(last).as_str()),
        None => true,
    }
}

/// How to find the users a filter may match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Only these UPNs (an equality on `uid` or `mail`), each looked up.
    Upns(Vec<String>),
    /// Every user (whose UPN starts with `prefix`), page by page.
    Scan { prefix: Option<String> },
}

/// The cheapest way to find every user `filter` can match (the filter is still evaluated on
/// each user found).
pub fn plan(filter: &LdapFilter) -> Plan {
    let upn_attr = |attr: &str| matches!(canonical(attr), Some("uid" | "mail"));
    match filter {
        LdapFilter::Equality(attr, value) if upn_attr(attr) => Plan::Upns(vec![norm(value)]),
        LdapFilter::Substring(attr, LdapSubstringFilter { initial: Some(initial), .. })
            if upn_attr(attr) && !norm(initial).is_empty() =>
        {
            Plan::Scan { prefix: Some(norm(initial)) }
        }
        LdapFilter::And(fs) => {
            let plans: Vec<Plan> = fs.iter().map(plan).collect();
            if let Some(upns) = plans.iter().find(|p| matches!(p, Plan::Upns(_))) {
                return upns.clone();
            }
            let longest = plans
                .into_iter()
                .filter_map(|p| match p {
                    Plan::Scan { prefix } => prefix,
                    Plan::Upns(_) => None,
                })
                .max_by_key(String::len);
            Plan::Scan { prefix: longest }
        }
        LdapFilter::Or(fs) if !fs.is_empty() => {
            let mut all = Vec::new();
            for f in fs {
                match plan(f) {
                    Plan::Upns(upns) => all.extend(upns),
                    Plan::Scan { .. } => return Plan::Scan { prefix: None },
                }
            }
            all.sort();
            all.dedup();
            Plan::Upns(all)
        }
        _ => Plan::Scan { prefix: None },
    }
}

#[cfg(test)]
mod tests {
    use ldap3_proto::parse_ldap_filter_str;

    use super::*;

    fn entry() -> Entry {
        Entry {
            dn: "uid=alice@contoso.com,ou=users,o=contoso".into(),
            attrs: vec![
                ("objectClass", vec!["top".into(), "person".into(), "inetOrgPerson".into()]),
                ("uid", vec!["alice@contoso.com".into()]),
                ("mail", vec!["alice@contoso.com".into()]),
                ("cn", vec!["Alice Smith".into()]),
                ("displayName", vec!["Alice Smith".into()]),
            ],
            root_dse: false,
        }
    }

    fn f(s: &str) -> LdapFilter {
        parse_ldap_filter_str(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn filters_on_a_user() {
        let e = entry();
        for yes in [
            "(objectClass=*)",
            "(objectclass=INETORGPERSON)",
            "(uid=Alice@Contoso.com)",
            "(mail=alice@contoso.com)",
            "(commonName=Alice*)",
            "(displayName=*smith)",
            "(cn=a*ce*sm*h)",
            "(uid=alice*)",
            "(&(objectClass=person)(|(uid=bob*)(cn=*lice*)))",
            "(!(uid=bob@contoso.com))",
            "(|(nosuch=x)(uid=alice@contoso.com))",
            "(uid>=a)",
            "(uid<=b)",
        ] {
            assert_eq!(eval(&f(yes), &e), Truth::True, "{yes}");
        }
        for no in ["(uid=bob*)", "(cn=*bob*)", "(cn=alice*alice*)", "(ou=*)", "(o=contoso)", "(!(cn=*))", "(uid>=b)"] {
            assert_eq!(eval(&f(no), &e), Truth::False, "{no}");
        }
        // (the filter parser takes no spaces in values)
        let spaced = LdapFilter::Equality("cn".into(), " alice SMITH".into());
        assert_eq!(eval(&spaced, &e), Truth::True);
        assert_eq!(eval(&LdapFilter::Approx("CN".into(), "alice smith".into()), &e), Truth::True);
        assert_eq!(eval(&f("(memberOf=x)"), &e), Truth::Undefined);
        assert_eq!(eval(&f("(&(uid=*)(nosuch=1))"), &e), Truth::Undefined);
        assert!(!matches(&f("(!(memberOf=x))"), &e), "NOT Undefined is Undefined");
    }

    #[test]
    fn plans() {
        let scan = |prefix: Option<&str>| Plan::Scan { prefix: prefix.map(str::to_owned) };
        assert_eq!(plan(&f("(uid=Alice@contoso.com)")), Plan::Upns(vec!["alice@contoso.com".into()]));
        assert_eq!(plan(&f("(&(objectClass=person)(mail=a@x.com))")), Plan::Upns(vec!["a@x.com".into()]));
        assert_eq!(
            plan(&f("(|(uid=b@x.com)(mail=a@x.com)(uid=a@x.com))")),
            Plan::Upns(vec!["a@x.com".into(), "b@x.com".into()])
        );
        assert_eq!(plan(&f("(uid=Alice*)")), scan(Some("alice")));
        assert_eq!(plan(&f("(&(uid=al*)(mail=alice*))")), scan(Some("alice")));
        assert_eq!(plan(&f("(|(uid=a@x.com)(cn=b))")), scan(None));
        assert_eq!(plan(&f("(uid=*lice)")), scan(None));
        assert_eq!(plan(&f("(!(uid=a@x.com))")), scan(None));
        assert_eq!(plan(&f("(objectClass=*)")), scan(None));
    }
}
